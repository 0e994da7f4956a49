// The CPU emulation's scheduler (see cuda_emulation.h for what it models): a fiber per CUDA
// thread behind launches and __syncthreads. The fake cudart is cuda_emulation_cudart.cpp.
#include "cuda_emulation.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>

// x86-64: a hand-written stack switch (below); elsewhere, or with -DST_EMU_UCONTEXT, <ucontext.h>.
#if defined(__x86_64__) && !defined(ST_EMU_UCONTEXT)
#define ST_EMU_ASM_SWITCH 1
#else
#include <ucontext.h>
#endif
#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define ST_EMU_TSAN 1
#endif

// Where a fiber starts: runs the kernel as the current thread, then switches back for good.
extern "C" [[noreturn]] void st_emu_fiber_main();

namespace statetune::cuda_emulation {

uint3 g_thread_idx{0, 0, 0}, g_block_idx{0, 0, 0};
dim3 g_block_dim{1, 1, 1}, g_grid_dim{1, 1, 1};

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "CUDA emulation: %s\n", what);
  std::abort();
}

// ---- context switching ------------------------------------------------------------------------
// x86-64: save the callee-saved registers (all a call must preserve) and swap stacks. glibc's
// swapcontext also saves the signal mask with a system call per switch, which made it 2/3 of the
// emulated tests' time. Elsewhere: <ucontext.h>.
#if ST_EMU_ASM_SWITCH
extern "C" void st_emu_switch(void** save_sp, void* load_sp);
extern "C" void st_emu_fiber_start();
asm(R"(
  .pushsection .text
  .p2align 4
  .globl st_emu_switch
  .hidden st_emu_switch
  .type st_emu_switch, @function
st_emu_switch:                 # (void** save_sp = rdi, void* load_sp = rsi)
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $16, %rsp
  fnstcw (%rsp)                # x87 control word and MXCSR are callee-saved too
  stmxcsr 8(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  fldcw (%rsp)
  ldmxcsr 8(%rsp)
  addq $16, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size st_emu_switch, .-st_emu_switch

  .p2align 4
  .globl st_emu_fiber_start
  .hidden st_emu_fiber_start
  .type st_emu_fiber_start, @function
st_emu_fiber_start:            # "returned to" by a fiber's first switch, rsp 16-byte aligned
  call st_emu_fiber_main
  ud2
  .size st_emu_fiber_start, .-st_emu_fiber_start
  .popsection
)");

struct Context {
  void* sp = nullptr;
};

// A frame that st_emu_switch pops as if the fiber had called it: zero registers, the current
// x87/SSE control words, return address st_emu_fiber_start (reached with rsp % 16 == 0).
void context_init(Context& c, char* stack, size_t bytes) {
  const uintptr_t top = (reinterpret_cast<uintptr_t>(stack + bytes) & ~uintptr_t(15)) - 64;
  auto* frame = reinterpret_cast<uint64_t*>(top - 72);
  std::memset(frame, 0, 72);
  uint16_t fpu_cw = 0;
  uint32_t mxcsr = 0;
  asm volatile("fnstcw %0" : "=m"(fpu_cw));
  asm volatile("stmxcsr %0" : "=m"(mxcsr));
  std::memcpy(frame, &fpu_cw, sizeof fpu_cw);
  std::memcpy(reinterpret_cast<char*>(frame) + 8, &mxcsr, sizeof mxcsr);
  frame[8] = reinterpret_cast<uint64_t>(&st_emu_fiber_start);
  c.sp = frame;
}

// `before` runs between reading the target and switching (TSan's fiber switch: see below).
template <typename F>
void context_switch(Context& from, Context& to, F before) {
  void* const sp = to.sp;
  before();
  st_emu_switch(&from.sp, sp);
}
#else
struct Context {
  ucontext_t uc{};
};

// Not inlined: getcontext "returns twice" like setjmp, so keep it away from the callers' locals.
[[gnu::noinline]] void context_init(Context& c, char* stack, size_t bytes) {
  if (getcontext(&c.uc) != 0) fail("getcontext failed");
  c.uc.uc_stack.ss_sp = stack;
  c.uc.uc_stack.ss_size = bytes;
  c.uc.uc_link = nullptr;  // st_emu_fiber_main never returns
  makecontext(&c.uc, st_emu_fiber_main, 0);
}

template <typename F>
void context_switch(Context& from, Context& to, F before) {
  before();
  if (swapcontext(&from.uc, &to.uc) != 0) fail("swapcontext failed");
}
#endif

// ---- ThreadSanitizer's view (only with -fsanitize=thread) --------------------------------------
// A TSan fiber per CUDA thread, and switches that synchronise nothing. Then explicitly:
//  * every thread releases g_arrived when it reaches a barrier (or exits); once the whole block
//    has, the scheduler acquires it, and releases g_resumed before the next phase; every thread
//    acquires g_resumed when it resumes. So what precedes a barrier happens before what follows
//    it, and nothing orders two threads within one phase: TSan reports them touching the same
//    element (at least one writing), which is a race on a GPU whatever the turn order here.
//  * the scheduler's writes of threadIdx and of the running thread's number during a phase model
//    registers, not memory: hidden from TSan.
//  * block and launch boundaries are full barriers, so TSan does not see races between blocks.
#if ST_EMU_TSAN
extern "C" void AnnotateIgnoreWritesBegin(const char* file, int line);
extern "C" void AnnotateIgnoreWritesEnd(const char* file, int line);
char g_arrived, g_resumed;  // the addresses TSan's acquire/release work on
void* tsan_new_fiber() { return __tsan_create_fiber(0); }
void* tsan_this_fiber() { return __tsan_get_current_fiber(); }
void tsan_switch(void* to) { __tsan_switch_to_fiber(to, __tsan_switch_to_fiber_no_sync); }
void tsan_release(char* sync) { __tsan_release(sync); }
void tsan_acquire(char* sync) { __tsan_acquire(sync); }
void tsan_hide_writes(bool hide) {
  hide ? AnnotateIgnoreWritesBegin(__FILE__, __LINE__) : AnnotateIgnoreWritesEnd(__FILE__, __LINE__);
}
#else
char g_arrived, g_resumed;
void* tsan_new_fiber() { return nullptr; }
void* tsan_this_fiber() { return nullptr; }
void tsan_switch(void*) {}
void tsan_release(char*) {}
void tsan_acquire(char*) {}
void tsan_hide_writes(bool) {}
#endif

// ---- fibers: one per CUDA thread of a block -----------------------------------------------------
// Stacks big enough for the kernels' register arrays (3·128 floats per thread at most) at -O0
// and under sanitizers; mmap'd (so committed only as touched) above a guard page, so an
// overflow faults instead of corrupting a neighbour.
constexpr size_t kStackBytes = size_t(256) << 10;

enum class State { kRunning, kAtBarrier, kDone };

struct Fiber {
  Context context;
  char* stack = nullptr;
  State state = State::kDone;
  void* tsan = nullptr;
};

std::deque<Fiber> g_fibers;  // one per thread of the largest block so far, reused; never moved
Context g_scheduler;
void* g_scheduler_tsan = nullptr;
int g_current = -1;  // the running fiber; -1 outside kernels
ThreadBody g_body = nullptr;
const void* g_args = nullptr;
cudaError_t g_launch_error = cudaSuccess;

size_t page_size() { return static_cast<size_t>(sysconf(_SC_PAGESIZE)); }

void ensure_fibers(unsigned n) {
  while (g_fibers.size() < n) {
    void* mem = mmap(nullptr, kStackBytes + page_size(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) fail("cannot map a fiber stack");
    if (mprotect(mem, page_size(), PROT_NONE) != 0) fail("cannot protect a stack guard page");
    Fiber& f = g_fibers.emplace_back();
    f.stack = static_cast<char*>(mem) + page_size();
    f.tsan = tsan_new_fiber();
  }
}

// Scheduler -> thread, and thread -> scheduler (after it has set its state).
void resume(Fiber& f) {
  context_switch(g_scheduler, f.context, [&] { tsan_switch(f.tsan); });
}
void yield(Fiber& f) {
  tsan_release(&g_arrived);
  context_switch(f.context, g_scheduler, [] { tsan_switch(g_scheduler_tsan); });
  tsan_acquire(&g_resumed);
}

uint3 thread_coords(unsigned t, dim3 block) {
  return uint3{t % block.x, t / block.x % block.y, t / (block.x * block.y)};
}

// One block: start every thread, then run phases until all have finished.
void run_block(unsigned n_threads) {
  for (unsigned t = 0; t < n_threads; ++t) {
    context_init(g_fibers[t].context, g_fibers[t].stack, kStackBytes);
    g_fibers[t].state = State::kRunning;
  }
  for (unsigned phase = 0;; ++phase) {
    tsan_release(&g_resumed);
    for (unsigned k = 0; k < n_threads; ++k) {
      const unsigned t = phase % 2 == 0 ? k : n_threads - 1 - k;  // alternate the turn order
      tsan_hide_writes(true);
      g_current = static_cast<int>(t);
      g_thread_idx = thread_coords(t, g_block_dim);
      tsan_hide_writes(false);
      resume(g_fibers[t]);
    }
    tsan_acquire(&g_arrived);
    g_current = -1;
    unsigned done = 0;
    for (unsigned t = 0; t < n_threads; ++t) done += g_fibers[t].state == State::kDone;
    if (done == n_threads) return;
    if (done != 0) {
      char msg[200];
      std::snprintf(msg, sizeof msg,
                    "__syncthreads not reached by every thread of block (%u, %u, %u): %u of %u threads "
                    "exited while the others wait (undefined behaviour on a GPU)",
                    g_block_idx.x, g_block_idx.y, g_block_idx.z, done, n_threads);
      fail(msg);
    }
    for (unsigned t = 0; t < n_threads; ++t) g_fibers[t].state = State::kRunning;
  }
}

}  // namespace

void syncthreads() {
  if (g_current < 0) fail("__syncthreads called outside a kernel");
  Fiber& f = g_fibers[g_current];
  f.state = State::kAtBarrier;
  yield(f);
}

cudaError_t take_launch_error() {
  const cudaError_t e = g_launch_error;
  g_launch_error = cudaSuccess;
  return e;
}

void run_grid(dim3 grid, dim3 block, ThreadBody body, const void* args) {
  if (g_current >= 0) fail("kernel launched from inside a kernel (not supported here)");
  const unsigned long long n_threads = 1ull * block.x * block.y * block.z;
  // The limits of every GPU since sm_30: a bad configuration fails the launch, nothing runs.
  if (n_threads == 0 || n_threads > 1024 || block.z > 64 || grid.x == 0 || grid.y == 0 || grid.z == 0 ||
      grid.x > 2147483647u || grid.y > 65535 || grid.z > 65535) {
    g_launch_error = cudaErrorInvalidConfiguration;
    return;
  }
  if (g_scheduler_tsan == nullptr) g_scheduler_tsan = tsan_this_fiber();
  ensure_fibers(static_cast<unsigned>(n_threads));
  g_body = body, g_args = args;
  g_block_dim = block, g_grid_dim = grid;
  for (unsigned z = 0; z < grid.z; ++z)
    for (unsigned y = 0; y < grid.y; ++y)
      for (unsigned x = 0; x < grid.x; ++x) {
        g_block_idx = uint3{x, y, z};
        run_block(static_cast<unsigned>(n_threads));
      }
  g_body = nullptr, g_args = nullptr;
}

}  // namespace statetune::cuda_emulation

extern "C" void st_emu_fiber_main() {
  namespace emu = statetune::cuda_emulation;
  emu::tsan_acquire(&emu::g_resumed);
  emu::g_body(emu::g_args);
  emu::Fiber& f = emu::g_fibers[emu::g_current];
  f.state = emu::State::kDone;
  emu::yield(f);
  emu::fail("a finished thread was resumed");
}
