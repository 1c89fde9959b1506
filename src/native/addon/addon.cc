// Module entry and the plain fd functions: sockets, eventfd, memfd, dup/close, fd counting.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <string>

#include "common.h"

namespace vfu {
namespace {

std::string ToPath(const Napi::Value& v, sockaddr_un& addr) {
  if (!v.IsString()) throw Napi::TypeError::New(v.Env(), "path must be a string");
  std::string path = v.As<Napi::String>().Utf8Value();
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    ThrowErrno(v.Env(), "bind", ENAMETOOLONG, "socket path must be 1 to 107 bytes: " + path);
  }
  addr = {};
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path.data(), path.size());
  return path;
}

std::string WithPath(int err, const std::string& path) { return std::string(strerror(err)) + " (" + path + ")"; }

// connect(path) -> fd of a connected, blocking, CLOEXEC socket (the Channel makes it non-blocking).
Napi::Value Connect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  sockaddr_un addr;
  std::string path = ToPath(info[0], addr);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) ThrowErrno(env, "socket", errno);
  int rc;
  do rc = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    int err = errno;
    close(fd);
    ThrowErrno(env, "connect", err, WithPath(err, path));
  }
  return Napi::Number::New(env, fd);
}

// listen(path, mode, backlog) -> fd of a listening socket whose file has exactly `mode`.
Napi::Value Listen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  sockaddr_un addr;
  std::string path = ToPath(info[0], addr);
  mode_t mode = static_cast<mode_t>(ToU64(info[1], "mode") & 07777);
  int backlog = info[2].IsUndefined() ? 128 : static_cast<int>(ToU64(info[2], "backlog"));
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) ThrowErrno(env, "socket", errno);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) {
    int err = errno;
    close(fd);
    ThrowErrno(env, "bind", err, WithPath(err, path));
  }
  // chmod before listen(): until listen() every connect is refused, so the umask-derived mode
  // of the fresh file is never usable by anyone.
  const char* step = "chmod";
  int ok = chmod(path.c_str(), mode);
  if (ok == 0) {
    step = "listen";
    ok = listen(fd, backlog);
  }
  if (ok < 0) {
    int err = errno;
    unlink(path.c_str());
    close(fd);
    ThrowErrno(env, step, err, WithPath(err, path));
  }
  return Napi::Number::New(env, fd);
}

Napi::Value SocketPair(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) ThrowErrno(env, "socketpair", errno);
  Napi::Array a = Napi::Array::New(env, 2);
  a.Set(0u, Napi::Number::New(env, sv[0]));
  a.Set(1u, Napi::Number::New(env, sv[1]));
  return a;
}

Napi::Value EventFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint64_t init = info[0].IsUndefined() ? 0 : ToU64(info[0], "initval");
  if (init > UINT32_MAX) throw Napi::RangeError::New(env, "initval must fit in 32 bits");
  int fd = eventfd(static_cast<unsigned>(init), EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) ThrowErrno(env, "eventfd", errno);
  return Napi::Number::New(env, fd);
}

void EventFdWrite(const Napi::CallbackInfo& info) {
  int fd = ToFd(info[0]);
  uint64_t value = info[1].IsUndefined() ? 1 : ToU64(info[1], "value");
  ssize_t w;
  do w = write(fd, &value, sizeof(value));
  while (w < 0 && errno == EINTR);
  if (w < 0) ThrowErrno(info.Env(), "write", errno);
}

Napi::Value EventFdRead(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ToFd(info[0]);
  uint64_t value = 0;
  ssize_t r;
  do r = read(fd, &value, sizeof(value));
  while (r < 0 && errno == EINTR);
  if (r < 0 && errno != EAGAIN) ThrowErrno(env, "read", errno);
  return Napi::BigInt::New(env, r < 0 ? 0 : value);
}

Napi::Value MemFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "name must be a string");
  std::string name = info[0].As<Napi::String>().Utf8Value();
  uint64_t size = ToU64(info[1], "size");
  bool seal = info.Length() < 3 || !info[2].IsBoolean() || info[2].As<Napi::Boolean>().Value();
  int fd = memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) ThrowErrno(env, "memfd_create", errno);
  if (ftruncate(fd, static_cast<off_t>(size)) < 0) {
    int err = errno;
    close(fd);
    ThrowErrno(env, "ftruncate", err);
  }
  // The fd goes to a peer, which could shrink the file under our own mapping of it (SIGBUS on our
  // next access) or seal it against our writes: its size is fixed, and no seal can be added later.
  if (seal && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
    int err = errno;
    close(fd);
    ThrowErrno(env, "fcntl(F_ADD_SEALS)", err);
  }
  return Napi::Number::New(env, fd);
}

Napi::Value FileSize(const Napi::CallbackInfo& info) {
  struct stat st;
  if (fstat(ToFd(info[0]), &st) < 0) ThrowErrno(info.Env(), "fstat", errno);
  return Napi::Number::New(info.Env(), static_cast<double>(st.st_size));
}

Napi::Value Dup(const Napi::CallbackInfo& info) {
  int fd = fcntl(ToFd(info[0]), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) ThrowErrno(info.Env(), "fcntl", errno);
  return Napi::Number::New(info.Env(), fd);
}

// Linux releases the fd even when close() reports EINTR, so only other errors are worth raising.
void Close(const Napi::CallbackInfo& info) {
  if (close(ToFd(info[0])) < 0 && errno != EBADF && errno != EINTR) ThrowErrno(info.Env(), "close", errno);
}

Napi::Value OpenFdCount(const Napi::CallbackInfo& info) {
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) ThrowErrno(info.Env(), "opendir", errno);
  int count = 0;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.') count++;
  }
  closedir(dir);
  // The directory's own fd was listed while we read it.
  return Napi::Number::New(info.Env(), count - 1);
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("connect", Napi::Function::New<Connect>(env, "connect"));
  exports.Set("listen", Napi::Function::New<Listen>(env, "listen"));
  exports.Set("socketpair", Napi::Function::New<SocketPair>(env, "socketpair"));
  exports.Set("eventfd", Napi::Function::New<EventFd>(env, "eventfd"));
  exports.Set("eventfdWrite", Napi::Function::New<EventFdWrite>(env, "eventfdWrite"));
  exports.Set("eventfdRead", Napi::Function::New<EventFdRead>(env, "eventfdRead"));
  exports.Set("memfd", Napi::Function::New<MemFd>(env, "memfd"));
  exports.Set("fileSize", Napi::Function::New<FileSize>(env, "fileSize"));
  exports.Set("dup", Napi::Function::New<Dup>(env, "dup"));
  exports.Set("close", Napi::Function::New<Close>(env, "close"));
  exports.Set("openFdCount", Napi::Function::New<OpenFdCount>(env, "openFdCount"));
  InitChannel(env, exports);
  InitListener(env, exports);
  InitMmap(env, exports);
  return exports;
}

}  // namespace vfu

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return vfu::Init(env, exports); }

NODE_API_MODULE(vfio_user_native, InitModule)
