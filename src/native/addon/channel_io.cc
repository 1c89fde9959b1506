// Channel socket I/O: sendmsg with fds, the send queue, recvmsg with SCM_RIGHTS.
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "channel.h"

namespace vfu {
namespace {

// Reads per wake-up before yielding to the rest of the loop, so one busy peer cannot starve others.
constexpr int kReadsPerWakeup = 16;
// Fd-less queued messages coalesced into one sendmsg.
constexpr size_t kMaxIov = 64;

}  // namespace

// sendmsg of an iovec with optional fds on its first byte; never blocks, never raises SIGPIPE.
ssize_t Channel::SendNow(const iovec* iov, size_t n, const int* fds, size_t nfds) {
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kScmMaxFd)];
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(iov);
  msg.msg_iovlen = n;
  if (nfds > 0) {
    memset(control, 0, sizeof(control));
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
  }
  ssize_t w;
  do w = sendmsg(fd_, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  while (w < 0 && errno == EINTR);
  return w;
}

// Queues bytes from `skip` on; the fds are duplicated so the caller may close its own at once.
void Channel::Enqueue(const iovec* iov, size_t n, size_t skip, const int* fds, size_t nfds) {
  Pending p;
  for (size_t i = 0; i < nfds; i++) {
    int d = fcntl(fds[i], F_DUPFD_CLOEXEC, 0);
    if (d < 0) {
      int err = errno;
      CloseFds(p.fds);
      ThrowErrno(Env(), "fcntl", err);
    }
    p.fds.push_back(d);
  }
  for (size_t i = 0; i < n; i++) {
    const uint8_t* b = static_cast<const uint8_t*>(iov[i].iov_base);
    size_t len = iov[i].iov_len;
    size_t s = skip < len ? skip : len;
    skip -= s;
    p.bytes.insert(p.bytes.end(), b + s, b + len);
  }
  queued_ += p.bytes.size();
  queue_.push_back(std::move(p));
}

void Channel::DropQueue() {
  for (Pending& p : queue_) CloseFds(p.fds);
  queue_.clear();
  queued_ = 0;
}

// Writes queued messages in order; 0 when done or the socket is full, else the errno.
int Channel::Flush() {
  while (!queue_.empty() && fd_ >= 0) {
    iovec iov[kMaxIov];
    size_t n = 0;
    Pending& front = queue_.front();
    iov[n++] = {front.bytes.data() + front.off, front.bytes.size() - front.off};
    // A message with fds goes alone: batched with others, the receiver would credit its fds to the
    // last message started in the same read.
    if (front.fds.empty()) {
      for (auto it = std::next(queue_.begin()); it != queue_.end() && n < kMaxIov && it->fds.empty(); ++it) {
        iov[n++] = {it->bytes.data(), it->bytes.size()};
      }
    }
    ssize_t w = SendNow(iov, n, front.fds.data(), front.fds.size());
    if (w < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : errno;
    CloseFds(front.fds);  // the kernel took its own references with the first byte
    Consume(static_cast<size_t>(w));
  }
  return 0;
}

void Channel::Consume(size_t written) {
  queued_ -= written;
  while (written > 0) {
    Pending& f = queue_.front();
    size_t left = f.bytes.size() - f.off;
    if (written < left) {
      f.off += written;
      return;
    }
    written -= left;
    queue_.pop_front();
  }
}

// One data() call per recvmsg, with exactly the fds of that recvmsg; while a readInto() target
// is being filled, reads go straight into it and JS hears of them only when fds came or it is full.
// The bytes of a read are in the JS read buffer, which JS empties before it does anything else:
// no Buffer is made here (node's Buffer::Copy costs an ArrayBuffer, a backing store and a
// prototype change per read, more than the copy out of the buffer in JS).
void Channel::ReadSome(bool drain) {
  Napi::Env env = Env();
  for (int i = 0; (drain || i < kReadsPerWakeup) && fd_ >= 0 && !ended_ && !failed_; i++) {
    // Bytes beyond the target (the next messages) land in the read buffer, in the same recvmsg.
    iovec iov[2];
    size_t niov = 0, room = 0;
    if (targetData_) iov[niov++] = {targetData_ + targetOff_, targetLen_ - targetOff_};
    iov[niov++] = {readData_, readLen_};
    for (size_t k = 0; k < niov; k++) room += iov[k].iov_len;
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = niov;
    msg.msg_control = control_.data();
    msg.msg_controllen = control_.size();
    ssize_t n = recvmsg(fd_, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) Fail("recvmsg", errno);
      return;
    }
    CollectFds(msg);
    if (msg.msg_flags & MSG_CTRUNC) {
      // The kernel closed the fds that did not fit: the stream has lost fds for good.
      CloseFds(fds_);
      Fail("recvmsg", EPROTO, "control data was truncated (MSG_CTRUNC): more fds than maxRecvFds arrived");
      return;
    }
    if (n == 0) {
      CloseFds(fds_);
      DropTarget();
      ended_ = true;
      UpdatePoll();
      CallJs(env, onEnd_, Value(), *ctx_, {});
      return;
    }
    size_t got = static_cast<size_t>(n);
    size_t intoTarget = 0;
    bool filled = false;
    if (targetData_) {
      intoTarget = got < targetLen_ - targetOff_ ? got : targetLen_ - targetOff_;
      targetOff_ += intoTarget;
      filled = targetOff_ == targetLen_;
      if (filled) DropTarget();
    }
    size_t rest = got - intoTarget;
    if (rest > 0 || filled || !fds_.empty()) {
      napi_value length = Napi::Number::New(env, static_cast<double>(rest));
      napi_value fdList = env.Undefined();
      if (!fds_.empty()) {
        Napi::Array a = Napi::Array::New(env, fds_.size());
        for (size_t k = 0; k < fds_.size(); k++) a.Set(static_cast<uint32_t>(k), Napi::Number::New(env, fds_[k]));
        fdList = a;
        fds_.clear();  // owned by JS from here on
      }
      if (!CallJs(env, onData_, Value(), *ctx_, {length, fdList, Napi::Boolean::New(env, filled)})) return;
    }
    // A short read emptied the socket as it was: stop here rather than pay a recvmsg for EAGAIN.
    // The poll is level-triggered, so bytes that came meanwhile wake the loop again at once.
    if (!drain && got < room) return;
  }
}

void Channel::CollectFds(msghdr& msg) {
  fds_.clear();
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t k = 0; k < count; k++) {
      int fd;
      memcpy(&fd, CMSG_DATA(c) + k * sizeof(int), sizeof(int));
      fds_.push_back(fd);
    }
  }
}

}  // namespace vfu
