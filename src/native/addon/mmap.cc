// mmap/munmap of an fd at any 64-bit offset, as external ArrayBuffers with a deterministic unmap.
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

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

}  // namespace

void InitMmap(Napi::Env env, Napi::Object exports) {
  exports.Set("mmap", Napi::Function::New<Mmap>(env, "mmap"));
  exports.Set("munmap", Napi::Function::New<Munmap>(env, "munmap"));
}

}  // namespace vfu
