// Shared pieces of the addon: errno errors, calling JS from libuv, and a uv_poll owner.
#pragma once

#include <napi.h>
#include <uv.h>

#include <initializer_list>
#include <string>
#include <vector>

namespace vfu {

// A JS Error carrying `syscall` and `errno`; the TypeScript facade turns it into a NativeError.
Napi::Error ErrnoError(Napi::Env env, const char* syscall, int err, const std::string& detail = "");

// Throws ErrnoError (node-addon-api converts it into a JS exception at the call boundary).
[[noreturn]] void ThrowErrno(Napi::Env env, const char* syscall, int err, const std::string& detail = "");

// Calls a JS callback from a libuv callback through the async context, so promise continuations and
// AsyncLocalStorage behave. A throw in the callback becomes an uncaught exception instead of vanishing.
// Returns false when the callback threw.
bool CallJs(Napi::Env env, const Napi::FunctionReference& fn, napi_value recv, napi_async_context ctx,
            std::initializer_list<napi_value> args);

// Reads a JS number or bigint as a non-negative 64-bit integer.
uint64_t ToU64(const Napi::Value& v, const char* what);

// Reads a JS number as an fd (a non-negative 32-bit integer).
int ToFd(const Napi::Value& v);

// Closes every fd of the list (used on every error path that owns received or duplicated fds).
void CloseFds(std::vector<int>& fds);

// Sets O_NONBLOCK and FD_CLOEXEC on an fd we take ownership of; returns 0 or an errno.
int MakeNonBlockingCloexec(int fd);

// Owns one heap-allocated uv_poll_t. libuv may touch the handle until its close callback has run,
// so the memory is freed only there; the owner may be destroyed earlier.
class Poll {
 public:
  Poll() = default;
  Poll(const Poll&) = delete;
  Poll& operator=(const Poll&) = delete;
  ~Poll() { Close(); }

  // Initialises the handle for `fd`; returns a libuv error (negative) or 0. Fails with UV_EEXIST
  // when the fd is already polled on this loop (libuv allows one poll handle per fd).
  int Init(napi_env env, int fd, void* data, uv_poll_cb cb);
  // Sets the watched events (0 stops polling); returns a libuv error or 0.
  int Set(int events);
  // Stops and closes the handle; must run before the fd is closed. Idempotent.
  void Close();
  // Records that libuv stopped the handle by itself (it does so when it reports POLLERR).
  void Forget() { events_ = 0; }
  bool IsOpen() const { return handle_ != nullptr; }
  int events() const { return events_; }

 private:
  uv_poll_t* handle_ = nullptr;
  uv_poll_cb cb_ = nullptr;
  int events_ = 0;
};

// Registration functions of each part of the addon.
void InitChannel(Napi::Env env, Napi::Object exports);
void InitListener(Napi::Env env, Napi::Object exports);
void InitMmap(Napi::Env env, Napi::Object exports);

}  // namespace vfu
