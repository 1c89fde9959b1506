// Channel: a connected AF_UNIX stream socket driven by uv_poll, passing fds with SCM_RIGHTS.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "common.h"

namespace vfu {

// SCM_MAX_FD: the most fds Linux accepts in one SCM_RIGHTS message.
constexpr size_t kScmMaxFd = 253;

// A message (or the unsent rest of one) waiting for the socket to become writable.
struct Pending {
  std::vector<uint8_t> bytes;
  size_t off = 0;
  std::vector<int> fds;  // our own duplicates; only present while nothing of the message was sent
};

class Channel : public Napi::ObjectWrap<Channel> {
 public:
  static Napi::Function Define(Napi::Env env);
  // new Channel(fd, maxRecvFds): takes the fd only if construction succeeds.
  explicit Channel(const Napi::CallbackInfo& info);
  ~Channel() override;

 private:
  // JS interface (channel.cc).
  Napi::Value GetFd(const Napi::CallbackInfo& info);
  Napi::Value GetQueuedBytes(const Napi::CallbackInfo& info);
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Send(const Napi::CallbackInfo& info);
  void Close(const Napi::CallbackInfo& info);
  void ReadInto(const Napi::CallbackInfo& info);
  void DropTarget();
  static void OnPoll(uv_poll_t* handle, int status, int events);
  void Fail(const char* syscall, int err, const std::string& detail = "");
  void UpdatePoll();

  // Socket I/O (channel_io.cc).
  ssize_t SendNow(const iovec* iov, size_t n, const int* fds, size_t nfds);
  void Enqueue(const iovec* iov, size_t n, size_t skip, const int* fds, size_t nfds);
  void DropQueue();
  int Flush();
  void Consume(size_t written);
  void ReadSome(bool drain);
  void CollectFds(msghdr& msg);

  int fd_ = -1;
  Poll poll_;
  bool started_ = false, ended_ = false, failed_ = false, refd_ = false;
  const char* pendingSyscall_ = "";
  int pendingErrno_ = 0;
  std::vector<char> control_;  // recvmsg control buffer, sized for maxRecvFds
  std::vector<int> fds_;       // fds of the current recvmsg; capacity reserved, so no allocation per read
  std::deque<Pending> queue_;
  size_t queued_ = 0;
  Napi::FunctionReference onData_, onEnd_, onError_;
  // readInto(): the Buffer the next bytes of the stream go to, until it is full. The reference
  // keeps it (and so its backing store, which V8 never moves) alive while we write into it.
  Napi::ObjectReference target_;
  uint8_t* targetData_ = nullptr;
  size_t targetLen_ = 0, targetOff_ = 0;
  std::unique_ptr<Napi::AsyncContext> ctx_;
  // The read buffer, a JS Buffer given to start(): data() reports how many bytes a read left in it,
  // and JS copies them out before anything else runs. Held by reference; V8 never moves its bytes.
  Napi::ObjectReference readBuffer_;
  uint8_t* readData_ = nullptr;
  size_t readLen_ = 0;
};

}  // namespace vfu
