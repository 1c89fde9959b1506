#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <cmath>

namespace vfu {

Napi::Error ErrnoError(Napi::Env env, const char* syscall, int err, const std::string& detail) {
  const char* name = strerrorname_np(err);
  std::string message = std::string(name ? name : "E?") + ": " + (detail.empty() ? strerror(err) : detail);
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("syscall", Napi::String::New(env, syscall));
  error.Set("errno", Napi::Number::New(env, err));
  if (name) error.Set("code", Napi::String::New(env, name));
  return error;
}

void ThrowErrno(Napi::Env env, const char* syscall, int err, const std::string& detail) {
  throw ErrnoError(env, syscall, err, detail);
}

bool CallJs(Napi::Env env, const Napi::FunctionReference& fn, napi_value recv, napi_async_context ctx,
            std::initializer_list<napi_value> args) {
  try {
    fn.MakeCallback(recv, args.size(), args.begin(), ctx);  // no vector: nothing allocated per call
    return true;
  } catch (const Napi::Error& e) {
    napi_fatal_exception(env, e.Value());
    return false;
  }
}

uint64_t ToU64(const Napi::Value& v, const char* what) {
  Napi::Env env = v.Env();
  if (v.IsBigInt()) {
    bool lossless = false;
    uint64_t n = v.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) throw Napi::RangeError::New(env, std::string(what) + " must be a non-negative 64-bit integer");
    return n;
  }
  if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string(what) + " must be a number or a bigint");
  double d = v.As<Napi::Number>().DoubleValue();
  // 2^53 is the last integer a double holds exactly; beyond it the caller must pass a bigint.
  if (!(d >= 0) || d > 9007199254740991.0 || std::floor(d) != d) {
    throw Napi::RangeError::New(env, std::string(what) + " must be a non-negative safe integer");
  }
  return static_cast<uint64_t>(d);
}

int ToFd(const Napi::Value& v) {
  if (!v.IsNumber()) throw Napi::TypeError::New(v.Env(), "fd must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d > 2147483647.0 || std::floor(d) != d) throw Napi::RangeError::New(v.Env(), "invalid fd");
  return static_cast<int>(d);
}

void CloseFds(std::vector<int>& fds) {
  for (int fd : fds) close(fd);
  fds.clear();
}

int MakeNonBlockingCloexec(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return errno;
  int fdfl = fcntl(fd, F_GETFD);
  if (fdfl < 0 || fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) < 0) return errno;
  return 0;
}

int Poll::Init(napi_env env, int fd, void* data, uv_poll_cb cb) {
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return UV_EINVAL;
  auto* h = new uv_poll_t;
  int rc = uv_poll_init(loop, h, fd);
  if (rc < 0) {
    // A failed init registered nothing with the loop, so no uv_close is needed.
    delete h;
    return rc;
  }
  h->data = data;
  handle_ = h;
  cb_ = cb;
  return 0;
}

int Poll::Set(int events) {
  if (!handle_ || events == events_) return 0;
  int rc = events ? uv_poll_start(handle_, events, cb_) : uv_poll_stop(handle_);
  if (rc == 0) events_ = events;
  return rc;
}

void Poll::Close() {
  if (!handle_) return;
  uv_poll_stop(handle_);
  handle_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(handle_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
  handle_ = nullptr;
  events_ = 0;
}

}  // namespace vfu
