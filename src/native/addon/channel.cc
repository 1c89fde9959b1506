// Channel: JS interface, lifecycle and poll handling (socket I/O is in channel_io.cc).
#include "channel.h"

#include <errno.h>
#include <unistd.h>

namespace vfu {
namespace {

// Linux IOV_MAX: a send() with more chunks is rejected up front.
constexpr uint32_t kMaxChunks = 1024;

}  // namespace

Napi::Function Channel::Define(Napi::Env env) {
  return DefineClass(env, "Channel",
                     {InstanceAccessor<&Channel::GetFd>("fd"),
                      InstanceAccessor<&Channel::GetQueuedBytes>("queuedBytes"),
                      InstanceMethod<&Channel::Start>("start"), InstanceMethod<&Channel::Send>("send"),
                      InstanceMethod<&Channel::ReadInto>("readInto"), InstanceMethod<&Channel::Close>("close")});
}

Channel::Channel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Channel>(info) {
  Napi::Env env = info.Env();
  int fd = ToFd(info[0]);
  size_t maxFds = info[1].IsUndefined() ? kScmMaxFd : static_cast<size_t>(ToU64(info[1], "maxRecvFds"));
  if (maxFds < 1 || maxFds > kScmMaxFd) throw Napi::RangeError::New(env, "maxRecvFds must be in 1..253");
  uint64_t sendBuffer = info[2].IsUndefined() ? 0 : ToU64(info[2], "sendBufferSize");
  if (sendBuffer > INT32_MAX) throw Napi::RangeError::New(env, "sendBufferSize is too large");
  if (int err = MakeNonBlockingCloexec(fd)) ThrowErrno(env, "fcntl", err);
  if (sendBuffer > 0) {
    // Best effort: the kernel caps it at net.core.wmem_max (and doubles it for its bookkeeping).
    int size = static_cast<int>(sendBuffer);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
  }
  if (int rc = poll_.Init(env, fd, this, OnPoll)) ThrowErrno(env, "uv_poll_init", -rc);
  fd_ = fd;
  control_.resize(CMSG_SPACE(sizeof(int) * maxFds));
  fds_.reserve(maxFds);
}

Channel::~Channel() {
  poll_.Close();
  if (fd_ >= 0) close(fd_);
  DropQueue();
}

Napi::Value Channel::GetFd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }

Napi::Value Channel::GetQueuedBytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(queued_));
}

// start(onData, onEnd, onError, readBuffer) -> undefined, or the Error of a failure that happened
// before start. onData(length, fds, filled): the read left `length` bytes at the start of readBuffer.
Napi::Value Channel::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (fd_ < 0) ThrowErrno(env, "start", EBADF, "channel is closed");
  if (started_) throw Napi::Error::New(env, "channel already started");
  for (size_t i = 0; i < 3; i++) {
    if (!info[i].IsFunction()) throw Napi::TypeError::New(env, "start needs three callbacks");
  }
  if (!info[3].IsBuffer()) throw Napi::TypeError::New(env, "start needs a read buffer");
  Napi::Buffer<uint8_t> readBuffer = info[3].As<Napi::Buffer<uint8_t>>();
  if (readBuffer.Length() < 4096) throw Napi::RangeError::New(env, "the read buffer must hold at least 4096 bytes");
  readBuffer_ = Napi::Persistent(readBuffer.As<Napi::Object>());
  readData_ = readBuffer.Data();
  readLen_ = readBuffer.Length();
  onData_ = Napi::Persistent(info[0].As<Napi::Function>());
  onEnd_ = Napi::Persistent(info[1].As<Napi::Function>());
  onError_ = Napi::Persistent(info[2].As<Napi::Function>());
  ctx_ = std::make_unique<Napi::AsyncContext>(env, "VfioUserChannel", Value());
  started_ = true;
  UpdatePoll();
  if (pendingErrno_) return ErrnoError(env, pendingSyscall_, pendingErrno_).Value();
  return env.Undefined();
}

// send(chunks, fds) -> undefined, or the Error of a fatal socket failure (the caller reports it
// asynchronously). Caller mistakes (bad fd, too many fds) throw and leave the stream untouched.
Napi::Value Channel::Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (fd_ < 0) ThrowErrno(env, "sendmsg", EBADF, "channel is closed");
  if (!info[0].IsArray()) throw Napi::TypeError::New(env, "chunks must be an array of Buffers");
  Napi::Array chunks = info[0].As<Napi::Array>();
  uint32_t count = chunks.Length();
  if (count > kMaxChunks) throw Napi::RangeError::New(env, "at most 1024 chunks per message");
  thread_local std::vector<iovec> iov;  // reused: no allocation per send once warm
  iov.clear();
  size_t total = 0;
  for (uint32_t i = 0; i < count; i++) {
    napi_value c;
    if (napi_get_element(env, chunks, i, &c) != napi_ok) throw Napi::Error::New(env, "chunks: element not readable");
    // One call checks the type and gives the bytes: this loop runs for every message sent.
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    if (napi_get_typedarray_info(env, c, &type, &length, &data, nullptr, nullptr) != napi_ok || type != napi_uint8_array) {
      throw Napi::TypeError::New(env, "chunks must be an array of Buffers");
    }
    if (length > 0) iov.push_back({data, length});
    total += length;
  }
  int fds[kScmMaxFd];
  size_t nfds = 0;
  if (!info[1].IsUndefined()) {
    if (!info[1].IsArray()) throw Napi::TypeError::New(env, "fds must be an array of numbers");
    Napi::Array a = info[1].As<Napi::Array>();
    if (a.Length() > kScmMaxFd) throw Napi::RangeError::New(env, "at most 253 fds per message");
    for (uint32_t i = 0; i < a.Length(); i++) fds[nfds++] = ToFd(a.Get(i));
  }
  if (total == 0) {
    if (nfds > 0) throw Napi::RangeError::New(env, "fds need at least one payload byte beside them");
    return env.Undefined();
  }
  // After a failure the error is (or will be) reported once; later sends are dropped.
  if (failed_) return env.Undefined();
  if (!queue_.empty()) {
    Enqueue(iov.data(), iov.size(), 0, fds, nfds);  // behind what waits already: order is kept
    return env.Undefined();
  }
  ssize_t w = SendNow(iov.data(), iov.size(), fds, nfds);
  if (w < 0) {
    int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK) {
      Enqueue(iov.data(), iov.size(), 0, fds, nfds);
      UpdatePoll();
      return env.Undefined();
    }
    // Nothing was sent: these are mistakes in the arguments, not a broken stream.
    if (err == EBADF || err == EINVAL || err == ETOOMANYREFS) ThrowErrno(env, "sendmsg", err);
    bool wasEnded = ended_;
    failed_ = true;
    UpdatePoll();
    if (wasEnded) return env.Undefined();  // end() was the terminal callback already
    return ErrnoError(env, "sendmsg", err).Value();
  }
  if (static_cast<size_t>(w) < total) {
    Enqueue(iov.data(), iov.size(), static_cast<size_t>(w), nullptr, 0);  // the fds went with byte 0
    UpdatePoll();
  }
  return env.Undefined();
}

// readInto(target, offset): the next bytes of the stream fill target from offset to its end, with
// no copy through the read buffer; data() reports `filled` with the read that completes it.
void Channel::ReadInto(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (fd_ < 0) ThrowErrno(env, "readInto", EBADF, "channel is closed");
  if (targetData_) throw Napi::Error::New(env, "readInto: a target is already being filled");
  if (!info[0].IsBuffer()) throw Napi::TypeError::New(env, "readInto: target must be a Buffer");
  Napi::Buffer<uint8_t> target = info[0].As<Napi::Buffer<uint8_t>>();
  uint64_t offset = ToU64(info[1], "offset");
  if (offset >= target.Length()) throw Napi::RangeError::New(env, "readInto: offset must be below the target's length");
  target_ = Napi::Persistent(target.As<Napi::Object>());
  targetData_ = target.Data();
  targetLen_ = target.Length();
  targetOff_ = static_cast<size_t>(offset);
}

void Channel::DropTarget() {
  if (!targetData_) return;
  targetData_ = nullptr;
  targetLen_ = targetOff_ = 0;
  target_.Reset();
}

void Channel::Close(const Napi::CallbackInfo&) {
  if (fd_ < 0) return;
  poll_.Close();  // before close(): a recycled fd number must not receive our events
  close(fd_);
  fd_ = -1;
  DropQueue();
  DropTarget();
  if (refd_) {
    refd_ = false;
    Unref();
  }
  onData_.Reset();
  onEnd_.Reset();
  onError_.Reset();
  readBuffer_.Reset();
  readData_ = nullptr;
  readLen_ = 0;
}

// Makes the channel terminal with an error, reported once (now, or at start when not started yet).
void Channel::Fail(const char* syscall, int err, const std::string& detail) {
  if (failed_) return;
  bool wasEnded = ended_;
  failed_ = true;
  DropQueue();
  DropTarget();
  UpdatePoll();
  if (wasEnded) return;  // end() was the terminal callback already
  if (!started_) {
    pendingSyscall_ = syscall;
    pendingErrno_ = err;
    return;
  }
  Napi::Env env = Env();
  CallJs(env, onError_, Value(), *ctx_, {ErrnoError(env, syscall, err, detail).Value()});
}

// Polls for what is needed now, and holds a reference to the JS object exactly while polling.
void Channel::UpdatePoll() {
  int ev = 0;
  if (fd_ >= 0 && !failed_) {
    if (started_ && !ended_) ev |= UV_READABLE;
    if (!queue_.empty()) ev |= UV_WRITABLE;
  }
  // uv_poll_start only fails for a bad event mask or a closing handle, neither possible here.
  poll_.Set(ev);
  if (ev && !refd_) {
    refd_ = true;
    Ref();
  } else if (!ev && refd_) {
    refd_ = false;
    Unref();
  }
}

void Channel::OnPoll(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<Channel*>(handle->data);
  if (!self || self->fd_ < 0) return;
  Napi::Env env = self->Env();
  Napi::HandleScope scope(env);
  [[maybe_unused]] Napi::Object keep = self->Value();  // the wrapper must outlive JS callbacks that drop it
  try {
    if (status < 0) {
      // libuv reports POLLERR as EBADF and stops the handle. Data queued before the error is
      // still readable, and recvmsg returns the real error (e.g. ECONNRESET) after it.
      self->poll_.Forget();
      if (self->started_) self->ReadSome(true);
      int err = 0;
      socklen_t len = sizeof(err);
      if (self->fd_ >= 0 && getsockopt(self->fd_, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
      if (self->fd_ >= 0) self->Fail("poll", err ? err : -status);
    } else {
      // Reading first: a peer that replied and closed gets its last bytes and EOF delivered before
      // a write to it fails with EPIPE.
      if ((events & UV_READABLE) && self->started_) self->ReadSome(false);
      if ((events & UV_WRITABLE) && self->fd_ >= 0 && !self->failed_) {
        if (int err = self->Flush()) self->Fail("sendmsg", err);
      }
    }
    if (self->fd_ >= 0) self->UpdatePoll();
  } catch (const Napi::Error& e) {
    napi_fatal_exception(env, e.Value());
  }
}

void InitChannel(Napi::Env env, Napi::Object exports) { exports.Set("Channel", Channel::Define(env)); }

}  // namespace vfu
