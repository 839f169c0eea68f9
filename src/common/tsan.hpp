// ThreadSanitizer annotations (no code in other builds).
//
// TSan sees one process. Two places order threads in ways it cannot see:
//  - mimalloc heaps in our arena hand a block freed by one thread to another;
//  - a message from another node: a thread here sends a request, another node acts
//    on it and answers, and a third thread here runs the answer. The order is real
//    (the answer cannot exist before the request) but passes through other processes.
// DSTD_TSAN_RELEASE(p) before the handoff and DSTD_TSAN_ACQUIRE(p) after it tell TSan.
#pragma once

#if defined(__SANITIZE_THREAD__)
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#define DSTD_TSAN_ACQUIRE(p) __tsan_acquire(p)
#define DSTD_TSAN_RELEASE(p) __tsan_release(p)
#else
#define DSTD_TSAN_ACQUIRE(p) (void)0
#define DSTD_TSAN_RELEASE(p) (void)0
#endif
