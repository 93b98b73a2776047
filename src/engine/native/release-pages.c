/*
 * A Node-API addon with one function, releaseFilePages(pathPart): asks Linux to reclaim the
 * resident pages of this process's read-only mappings of files whose path contains pathPart
 * (madvise MADV_PAGEOUT), those that are still unmodified copies of the file. Loading libtensorflow_cc reads some 250 MB of it once (relocation
 * tables, the static initialisers that register thousands of kernels) and the pages stay in the
 * process's resident set; TensorFlow runs from a few tens of them afterwards. The pages are clean
 * copies of the file: reclaiming them loses nothing, and any page used again is read back.
 * Returns the number of mappings advised; throws with the system's reason if madvise refuses.
 * Built by src/engine/install-engine.mjs with the C compiler (no node-gyp: Node-API needs only
 * Node's headers).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21 /* Linux 5.4 */
#endif

static napi_value throw_error(napi_env env, const char *what, int error) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(error));
  napi_throw_error(env, NULL, message);
  return NULL;
}

static napi_value release_file_pages(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char path_part[1024];
  size_t length;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_string_utf8(env, argv[0], path_part, sizeof path_part, &length) != napi_ok || length == 0) {
    napi_throw_type_error(env, NULL, "releaseFilePages(pathPart): a non-empty string is needed");
    return NULL;
  }
  /* smaps: a mapping's header line, then its fields; "Anonymous:" says whether it holds pages
     written since loading (the relocated RELRO part of a library is read-only but such): those are
     not copies of the file, and on a machine with swap they would go there, so they stay. */
  FILE *smaps = fopen("/proc/self/smaps", "r");
  if (!smaps) return throw_error(env, "/proc/self/smaps", errno);
  char line[4096 + 128];
  unsigned long start = 0, end = 0;
  int candidate = 0, failure = 0;
  double advised = 0;
  while (!failure && fgets(line, sizeof line, smaps)) {
    unsigned long from, to;
    char permissions[5];
    unsigned long anonymous;
    /* "start-end perms offset dev inode path": read-only mappings (r--p, r-xp) of a matching file. */
    if (sscanf(line, "%lx-%lx %4s", &from, &to, permissions) == 3) {
      const char *path = strchr(line, '/');
      candidate = permissions[0] == 'r' && permissions[1] == '-' && path && strstr(path, path_part);
      start = from;
      end = to;
    } else if (candidate && sscanf(line, "Anonymous: %lu kB", &anonymous) == 1) {
      candidate = 0;
      if (anonymous > 0) continue;
      if (madvise((void *)start, end - start, MADV_PAGEOUT) != 0) failure = errno;
      else advised += 1;
    }
  }
  fclose(smaps);
  if (failure) return throw_error(env, "madvise(MADV_PAGEOUT)", failure);
  napi_value result;
  napi_create_double(env, advised, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value function;
  napi_create_function(env, "releaseFilePages", NAPI_AUTO_LENGTH, release_file_pages, NULL, &function);
  napi_set_named_property(env, exports, "releaseFilePages", function);
  return exports;
}
