// mmap/munmap of an fd at any 64-bit offset, as external ArrayBuffers with a deterministic unmap.
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include <mutex>

#include <string>
#include <unordered_map>

#include "common.h"

namespace vfu {
namespace {

// Where a mapping is in its life; the finalizer and the creating call both read it.
enum class State { kCreating, kFinalizedWhileCreating, kCreateFailed, kLive, kUnmapped };

// The real extent of a mapping (page-aligned base), which the ArrayBuffer does not know.
struct Mapping {
  void* base;
  size_t length;
  State state;
};

// Faults the SIGBUS handler absorbed on this thread; JS reads it through an external ArrayBuffer.
thread_local uint32_t tFaults = 0;

// Live mappings by the ArrayBuffer's data pointer, so munmap(ab) finds base and length.
// Per thread: every worker thread has its own env and its own buffers.
std::unordered_map<void*, Mapping*>& Registry() {
  thread_local std::unordered_map<void*, Mapping*> registry;
  return registry;
}

// Safety net when the ArrayBuffer is collected without munmap(); Node runs it late, if at all.
// When creating the ArrayBuffer fails (e.g. longer than Node's Buffer limit), Node calls the
// finalizer itself, synchronously on some versions: the creating call then cleans up alone.
void Finalize(napi_env, void* data, void* hint) {
  auto* m = static_cast<Mapping*>(hint);
  if (m->state == State::kCreating) {
    m->state = State::kFinalizedWhileCreating;
    return;
  }
  if (m->state == State::kLive) {
    auto it = Registry().find(data);
    if (it != Registry().end() && it->second == m) Registry().erase(it);
    munmap(m->base, m->length);
  }
  delete m;
}

int ToProt(const Napi::Value& v) {
  std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (s == "r") return PROT_READ;
  if (s == "rw") return PROT_READ | PROT_WRITE;
  throw Napi::TypeError::New(v.Env(), "prot must be 'r' or 'rw'");
}

// mmap(fd, offset, length, prot) -> ArrayBuffer viewing [offset, offset + length) of the fd.
Napi::Value Mmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ToFd(info[0]);
  uint64_t offset = ToU64(info[1], "offset");
  uint64_t length = ToU64(info[2], "length");
  int prot = ToProt(info[3]);
  if (length == 0) ThrowErrno(env, "mmap", EINVAL, "length must be at least 1");
  if (offset > static_cast<uint64_t>(INT64_MAX) - length) {
    ThrowErrno(env, "mmap", EOVERFLOW, "offset + length overflows");
  }
  uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  uint64_t aligned = offset & ~(page - 1);
  uint64_t delta = offset - aligned;
  size_t mapLength = static_cast<size_t>(length + delta);
  void* base = mmap(nullptr, mapLength, prot, MAP_SHARED, fd, static_cast<off_t>(aligned));
  if (base == MAP_FAILED) ThrowErrno(env, "mmap", errno);
  void* data = static_cast<uint8_t*>(base) + delta;
  auto* m = new Mapping{base, mapLength, State::kCreating};
  napi_value ab;
  if (napi_create_external_arraybuffer(env, data, static_cast<size_t>(length), Finalize, m, &ab) != napi_ok) {
    Napi::Error e = Napi::Error::New(env);
    munmap(base, mapLength);
    // A finalizer still to come deletes `m`; one already run left that to us.
    if (m->state == State::kFinalizedWhileCreating) delete m;
    else m->state = State::kCreateFailed;
    throw e;
  }
  m->state = State::kLive;
  Registry()[data] = m;
  return Napi::Value(env, ab);
}

// munmap(ab): detaches first (every view drops to length 0, so none can touch unmapped memory),
// then unmaps the real base and length. Idempotent.
void Munmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArrayBuffer()) throw Napi::TypeError::New(env, "munmap needs an ArrayBuffer from mmap()");
  Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
  if (ab.IsDetached()) return;
  auto it = Registry().find(ab.Data());
  if (it == Registry().end()) throw Napi::TypeError::New(env, "not an ArrayBuffer returned by mmap()");
  Mapping* m = it->second;
  // Node defers external-buffer finalizers to a later tick, and `ab` is held here, so `m` stays
  // valid across Detach(); a throwing Detach leaves everything as it was.
  ab.Detach();
  Registry().erase(it);
  m->state = State::kUnmapped;
  munmap(m->base, m->length);
}

// A peer may shrink the file under a shared mapping of ours at any time (its BAR memfd, the guest
// RAM it gave for DMA); the next access past the new end raises SIGBUS (BUS_ADRERR), which would
// kill the process. When the faulting address is in one of this thread's mappings, the handler
// maps a private zero page over the faulting page and counts the fault: the access completes
// (reading zeros, or writing where nobody reads), and JS, which compares the count around every
// access through a mapping, fails that access and stops using the mapping. Any other SIGBUS gets
// the disposition it had before.
struct sigaction gPrevious;
uintptr_t gPageSize = 4096;

bool Ours(uintptr_t address) {
  for (const auto& entry : Registry()) {
    auto base = reinterpret_cast<uintptr_t>(entry.second->base);
    if (address >= base && address < base + entry.second->length) return true;
  }
  return false;
}

void OnSigbus(int sig, siginfo_t* info, void* context) {
  auto address = reinterpret_cast<uintptr_t>(info->si_addr);
  if (info->si_code == BUS_ADRERR && Ours(address)) {
    void* page = reinterpret_cast<void*>(address & ~(gPageSize - 1));
    if (mmap(page, gPageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED) {
      tFaults++;
      return;
    }
  }
  // Returning re-runs the faulting access under the previous disposition (by default: death by
  // SIGBUS, as without this handler); a SIGBUS sent by kill() is raised again.
  sigaction(SIGBUS, &gPrevious, nullptr);
  if (info->si_code <= 0) raise(sig);
}

void InstallSigbusHandler() {
  static std::once_flag once;
  std::call_once(once, [] {
    gPageSize = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    struct sigaction action = {};
    action.sa_sigaction = OnSigbus;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    sigaction(SIGBUS, &action, &gPrevious);
  });
}

void NoFinalize(napi_env, void*, void*) {}

// faultCounter() -> ArrayBuffer of 4 bytes: this thread's count of absorbed mapping faults.
Napi::Value FaultCounter(const Napi::CallbackInfo& info) {
  napi_value ab;
  if (napi_create_external_arraybuffer(info.Env(), &tFaults, sizeof tFaults, NoFinalize, nullptr, &ab) != napi_ok) {
    throw Napi::Error::New(info.Env(), "faultCounter: cannot create the external buffer");
  }
  return Napi::Value(info.Env(), ab);
}

}  // namespace

void InitMmap(Napi::Env env, Napi::Object exports) {
  InstallSigbusHandler();
  exports.Set("mmap", Napi::Function::New<Mmap>(env, "mmap"));
  exports.Set("munmap", Napi::Function::New<Munmap>(env, "munmap"));
  exports.Set("faultCounter", Napi::Function::New<FaultCounter>(env, "faultCounter"));
}

}  // namespace vfu
