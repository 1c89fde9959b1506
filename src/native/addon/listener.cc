// Listener (accepting AF_UNIX socket) and Watcher (readable-fd callback), both driven by uv_poll.
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>

#include "common.h"

namespace vfu {
namespace {

// Accepts per wake-up before yielding to the rest of the loop.
constexpr int kAcceptsPerWakeup = 16;

class Listener : public Napi::ObjectWrap<Listener> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Listener",
                       {InstanceAccessor<&Listener::GetFd>("fd"), InstanceMethod<&Listener::Start>("start"),
                        InstanceMethod<&Listener::Close>("close")});
  }

  // new Listener(fd): takes the fd only if construction succeeds.
  explicit Listener(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Listener>(info) {
    Napi::Env env = info.Env();
    int fd = ToFd(info[0]);
    if (int err = MakeNonBlockingCloexec(fd)) ThrowErrno(env, "fcntl", err);
    if (int rc = poll_.Init(env, fd, this, OnPoll)) ThrowErrno(env, "uv_poll_init", -rc);
    fd_ = fd;
  }

  ~Listener() override {
    poll_.Close();
    if (fd_ >= 0) close(fd_);
  }

 private:
  Napi::Value GetFd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }

  // start(onFd, onError): each accepted socket (CLOEXEC, non-blocking) is handed over as an fd.
  void Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_ < 0) ThrowErrno(env, "start", EBADF, "listener is closed");
    if (onFd_) throw Napi::Error::New(env, "listener already started");
    if (!info[0].IsFunction() || !info[1].IsFunction()) throw Napi::TypeError::New(env, "start needs two callbacks");
    onFd_ = Napi::Persistent(info[0].As<Napi::Function>());
    onError_ = Napi::Persistent(info[1].As<Napi::Function>());
    ctx_ = std::make_unique<Napi::AsyncContext>(env, "VfioUserListener", Value());
    if (int rc = poll_.Set(UV_READABLE)) ThrowErrno(env, "uv_poll_start", -rc);
    Ref();
    active_ = true;
  }

  void Close(const Napi::CallbackInfo&) {
    if (fd_ < 0) return;
    Stop();
    poll_.Close();
    close(fd_);
    fd_ = -1;
    onFd_.Reset();
    onError_.Reset();
  }

  void Stop() {
    poll_.Set(0);
    if (active_) {
      active_ = false;
      Unref();
    }
  }

  // A failing accept (other than a vanished client) stops accepting: retrying EMFILE on a
  // level-triggered poll would spin. The error goes to onError once.
  void Fail(Napi::Env env, int err) {
    Stop();
    CallJs(env, onError_, Value(), *ctx_, {ErrnoError(env, "accept4", err).Value()});
  }

  static void OnPoll(uv_poll_t* handle, int status, int) {
    auto* self = static_cast<Listener*>(handle->data);
    if (!self || self->fd_ < 0 || !self->active_) return;
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    Napi::Object keep = self->Value();
    try {
      if (status < 0) {
        self->poll_.Forget();
        self->Fail(env, -status);
        return;
      }
      for (int i = 0; i < kAcceptsPerWakeup && self->fd_ >= 0 && self->active_; i++) {
        int fd = accept4(self->fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
          if (errno == EINTR || errno == ECONNABORTED) continue;
          if (errno != EAGAIN && errno != EWOULDBLOCK) self->Fail(env, errno);
          return;
        }
        CallJs(env, self->onFd_, keep, *self->ctx_, {Napi::Number::New(env, fd)});
      }
    } catch (const Napi::Error& e) {
      napi_fatal_exception(env, e.Value());
    }
  }

  int fd_ = -1;
  bool active_ = false;
  Poll poll_;
  Napi::FunctionReference onFd_, onError_;
  std::unique_ptr<Napi::AsyncContext> ctx_;
};

// Calls back each time an fd is readable. One uv_poll per fd per loop: watching an fd twice fails
// with EEXIST, and the watcher must be stopped before its fd is closed.
class Watcher : public Napi::ObjectWrap<Watcher> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Watcher", {InstanceMethod<&Watcher::Stop>("stop")});
  }

  // new Watcher(fd, onReadable): starts at once; does not own the fd.
  explicit Watcher(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Watcher>(info) {
    Napi::Env env = info.Env();
    int fd = ToFd(info[0]);
    if (!info[1].IsFunction()) throw Napi::TypeError::New(env, "onReadable must be a function");
    if (int rc = poll_.Init(env, fd, this, OnPoll)) ThrowErrno(env, "uv_poll_init", -rc);
    if (int rc = poll_.Set(UV_READABLE)) {
      poll_.Close();
      ThrowErrno(env, "uv_poll_start", -rc);
    }
    cb_ = Napi::Persistent(info[1].As<Napi::Function>());
    ctx_ = std::make_unique<Napi::AsyncContext>(env, "VfioUserFdWatcher", Value());
    Ref();
  }

  ~Watcher() override { poll_.Close(); }

 private:
  void Stop(const Napi::CallbackInfo&) { StopNow(); }

  void StopNow() {
    if (!poll_.IsOpen()) return;
    poll_.Close();
    Unref();
  }

  static void OnPoll(uv_poll_t* handle, int status, int) {
    auto* self = static_cast<Watcher*>(handle->data);
    if (!self) return;
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    Napi::Object keep = self->Value();
    // On a poll error libuv has stopped the handle: give the owner one last call, whose read of
    // the fd surfaces the error, then stop.
    if (status < 0) self->poll_.Forget();
    CallJs(env, self->cb_, keep, *self->ctx_, {});
    if (status < 0) self->StopNow();
  }

  Poll poll_;
  Napi::FunctionReference cb_;
  std::unique_ptr<Napi::AsyncContext> ctx_;
};

}  // namespace

void InitListener(Napi::Env env, Napi::Object exports) {
  exports.Set("Listener", Listener::Define(env));
  exports.Set("Watcher", Watcher::Define(env));
}

}  // namespace vfu
