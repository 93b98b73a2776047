/*
 * A Node-API addon for the native engine's memory, on Linux.
 *
 * Releasing libtensorflow's start-up pages: it asks Linux to reclaim (madvise MADV_PAGEOUT) the
 * resident pages of this process's read-only mappings of a library that are still unmodified
 * copies of its file. Loading libtensorflow_cc reads some 250 MB of it once (relocation tables,
 * the static initialisers that register thousands of kernels) and the pages stay in the process's
 * resident set; TensorFlow runs from a few tens of them afterwards. Reclaiming clean copies of the
 * file loses nothing: any page used again is read back.
 * - releaseFilePages(pathPart): once, after loading, every such mapping of the files whose path
 *   contains pathPart; returns the number of mappings advised.
 * - startReleasingCode(pathPart) / stopReleasingCode(): while the library loads, a thread releases
 *   its code mappings (r-xp) every 20 ms, so the process's peak does not hold them all at once:
 *   loading tfjs-node peaks at 260-285 MB instead of 353, 0.1-0.25 s slower. Code only: the static
 *   initialisers run each function once, while the dynamic linker is still reading the symbol and
 *   relocation tables (releasing those too gave 189 MB but nearly doubled the load time).
 *   stopReleasingCode joins the thread and returns its number of passes.
 * releaseFilePages and stopReleasingCode throw with the system's reason if madvise refused (a
 * kernel before 5.4).
 *
 * Restarting under another environment (src/engine/huge-pages.ts says why):
 * - restartWithEnvironment(file, args, environment): execve, as Node 23's process.execve does:
 *   the same process (pid, parent, open terminal) runs `file` afresh. Node marks the descriptors it
 *   inherited close-on-exec at start-up, so stdin, stdout and stderr are handed on explicitly.
 *   Returns only by throwing, with the system's reason.
 * Built by src/engine/install-engine.mjs with the C compiler (no node-gyp: Node-API needs only
 * Node's headers).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <node_api.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21 /* Linux 5.4 */
#endif

#define PASS_INTERVAL_MS 20

static napi_value throw_error(napi_env env, const char *what, int error) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(error));
  napi_throw_error(env, NULL, message);
  return NULL;
}

/* One pass over /proc/self/smaps: advises the read-only mappings of files whose path contains
   path_part (with code_only, only the executable ones, r-xp). Returns 0, or the errno of the
   call named in *what. */
static int release_mappings(const char *path_part, int code_only, double *advised, const char **what) {
  /* smaps: a mapping's header line, then its fields; "Anonymous:" says whether it holds pages
     written since loading (the relocated RELRO part of a library is read-only but such): those are
     not copies of the file, and on a machine with swap they would go there, so they stay. */
  FILE *smaps = fopen("/proc/self/smaps", "r");
  if (!smaps) {
    *what = "/proc/self/smaps";
    return errno;
  }
  char line[4096 + 128];
  unsigned long start = 0, end = 0;
  int candidate = 0, failure = 0;
  while (!failure && fgets(line, sizeof line, smaps)) {
    unsigned long from, to;
    char permissions[5];
    unsigned long anonymous;
    /* "start-end perms offset dev inode path": read-only mappings (r--p, r-xp) of a matching file. */
    if (sscanf(line, "%lx-%lx %4s", &from, &to, permissions) == 3) {
      const char *path = strchr(line, '/');
      candidate = permissions[0] == 'r' && permissions[1] == '-' && (!code_only || permissions[2] == 'x') &&
                  path && strstr(path, path_part);
      start = from;
      end = to;
    } else if (candidate && sscanf(line, "Anonymous: %lu kB", &anonymous) == 1) {
      candidate = 0;
      if (anonymous > 0) continue;
      /* ENOMEM: unmapped since smaps listed it (the dynamic linker remaps while loading); nothing to release. */
      if (madvise((void *)start, end - start, MADV_PAGEOUT) == 0) *advised += 1;
      else if (errno != ENOMEM) failure = errno;
    }
  }
  fclose(smaps);
  if (failure) *what = "madvise(MADV_PAGEOUT)";
  return failure;
}

/* Copies the first argument, a non-empty string, into path_part; else throws and returns 0. */
static int path_part_argument(napi_env env, napi_callback_info info, const char *usage, char *path_part, size_t size) {
  size_t argc = 1, length;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_string_utf8(env, argv[0], path_part, size, &length) != napi_ok || length == 0) {
    napi_throw_type_error(env, NULL, usage);
    return 0;
  }
  return 1;
}

static napi_value release_file_pages(napi_env env, napi_callback_info info) {
  char path_part[1024];
  if (!path_part_argument(env, info, "releaseFilePages(pathPart): a non-empty string is needed", path_part, sizeof path_part)) return NULL;
  double advised = 0;
  const char *what = NULL;
  int failure = release_mappings(path_part, 0, &advised, &what);
  if (failure) return throw_error(env, what, failure);
  napi_value result;
  napi_create_double(env, advised, &result);
  return result;
}

/* The background thread: one at a time per process. `started` and the stop request are guarded by
   `lock`; the rest is written by the thread and read after pthread_join. */
static struct {
  pthread_mutex_t lock;
  pthread_cond_t wake;
  int started, stop;
  napi_env owner;
  pthread_t thread;
  char path_part[1024];
  double passes;
  int failure;
  const char *what;
} releaser = { .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER };

static void *release_code_repeatedly(void *unused) {
  (void)unused;
  pthread_mutex_lock(&releaser.lock);
  for (;;) {
    struct timespec due; /* 20 ms after the last pass ended, on the condition variable's clock */
    clock_gettime(CLOCK_REALTIME, &due);
    due.tv_nsec += PASS_INTERVAL_MS * 1000000L;
    if (due.tv_nsec >= 1000000000L) {
      due.tv_sec += 1;
      due.tv_nsec -= 1000000000L;
    }
    while (!releaser.stop && pthread_cond_timedwait(&releaser.wake, &releaser.lock, &due) != ETIMEDOUT) {}
    if (releaser.stop) break;
    pthread_mutex_unlock(&releaser.lock);
    double advised = 0;
    releaser.failure = release_mappings(releaser.path_part, 1, &advised, &releaser.what);
    releaser.passes += 1;
    pthread_mutex_lock(&releaser.lock);
    if (releaser.failure) break; /* the first error is the one reported; the next passes would repeat it */
  }
  pthread_mutex_unlock(&releaser.lock);
  return NULL;
}

static napi_value start_releasing_code(napi_env env, napi_callback_info info) {
  char path_part[1024];
  if (!path_part_argument(env, info, "startReleasingCode(pathPart): a non-empty string is needed", path_part, sizeof path_part)) return NULL;
  pthread_mutex_lock(&releaser.lock);
  if (releaser.started) {
    pthread_mutex_unlock(&releaser.lock);
    napi_throw_error(env, NULL, "startReleasingCode: a release thread is running already (stopReleasingCode stops it)");
    return NULL;
  }
  memcpy(releaser.path_part, path_part, sizeof path_part);
  releaser.stop = 0;
  releaser.owner = env;
  releaser.passes = 0;
  releaser.failure = 0;
  int failure = pthread_create(&releaser.thread, NULL, release_code_repeatedly, NULL);
  releaser.started = failure == 0;
  pthread_mutex_unlock(&releaser.lock);
  if (failure) return throw_error(env, "pthread_create", failure);
  return NULL;
}

/* Stops and joins the thread that `env` started (any, if NULL); returns 0 if none was running. */
static int stop_thread(napi_env env) {
  pthread_mutex_lock(&releaser.lock);
  int started = releaser.started && (!env || releaser.owner == env);
  if (started) {
    releaser.stop = 1;
    releaser.started = 0;
    pthread_cond_signal(&releaser.wake);
  }
  pthread_mutex_unlock(&releaser.lock);
  if (started) pthread_join(releaser.thread, NULL);
  return started;
}

static napi_value stop_releasing_code(napi_env env, napi_callback_info info) {
  (void)info;
  if (!stop_thread(NULL)) {
    napi_throw_error(env, NULL, "stopReleasingCode: no release thread is running");
    return NULL;
  }
  if (releaser.failure) return throw_error(env, releaser.what, releaser.failure);
  napi_value result;
  napi_create_double(env, releaser.passes, &result);
  return result;
}

/* An environment that ends (a worker thread) with its thread running stops it. */
static void stop_at_cleanup(void *env) {
  stop_thread(env);
}

static void free_strings(char **strings) {
  for (char **s = strings; s && *s; s++) free(*s);
  free(strings);
}

/* A JavaScript array of strings as a NULL-terminated array of C strings (freed by free_strings),
   or NULL if it is not one or memory ran out. */
static char **string_array(napi_env env, napi_value array) {
  uint32_t length = 0;
  if (napi_get_array_length(env, array, &length) != napi_ok) return NULL;
  char **strings = calloc(length + 1, sizeof *strings);
  for (uint32_t i = 0; strings && i < length; i++) {
    napi_value element;
    size_t size = 0;
    if (napi_get_element(env, array, i, &element) != napi_ok || napi_get_value_string_utf8(env, element, NULL, 0, &size) != napi_ok ||
        !(strings[i] = malloc(size + 1))) {
      free_strings(strings); /* strings[i] is still NULL: the ones before it are freed */
      return NULL;
    }
    napi_get_value_string_utf8(env, element, strings[i], size + 1, &size);
  }
  return strings;
}

static napi_value restart_with_environment(napi_env env, napi_callback_info info) {
  size_t count = 3;
  napi_value argv[3];
  char file[4096];
  size_t size = 0;
  napi_get_cb_info(env, info, &count, argv, NULL, NULL);
  char **args = NULL, **environment = NULL;
  if (count == 3 && napi_get_value_string_utf8(env, argv[0], file, sizeof file, &size) == napi_ok && size > 0 && size < sizeof file - 1) {
    args = string_array(env, argv[1]);
    environment = string_array(env, argv[2]);
  }
  if (!args || !environment) {
    free_strings(args);
    free_strings(environment);
    napi_throw_error(env, NULL, "restartWithEnvironment(file, args, environment): a path and two arrays of strings are needed");
    return NULL;
  }
  for (int fd = 0; fd <= 2; fd++) {
    int flags = fcntl(fd, F_GETFD);
    if (flags != -1) fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
  }
  execve(file, args, environment);
  int error = errno;
  free_strings(args);
  free_strings(environment);
  return throw_error(env, "execve", error);
}

NAPI_MODULE_INIT() {
  static const struct { const char *name; napi_callback function; } functions[] = {
    { "releaseFilePages", release_file_pages },
    { "startReleasingCode", start_releasing_code },
    { "stopReleasingCode", stop_releasing_code },
    { "restartWithEnvironment", restart_with_environment },
  };
  for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++) {
    napi_value function;
    napi_create_function(env, functions[i].name, NAPI_AUTO_LENGTH, functions[i].function, NULL, &function);
    napi_set_named_property(env, exports, functions[i].name, function);
  }
  napi_add_env_cleanup_hook(env, stop_at_cleanup, env);
  return exports;
}
