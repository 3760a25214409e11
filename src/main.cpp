#include <sys/mman.h>
#include <unistd.h>

#include <iostream>
#include <string>

#include "cli/cli.hpp"

int main(int argc, char** argv) {
  // libmongoc maps performance counters (read by nothing of ours) from
  // /dev/shm/mongoc-<pid> as the binary loads, and removes the file only on a
  // normal exit. A killed process left it behind, and the next process to get
  // that pid printed a driver warning on stderr ahead of its --json output.
  // Removing the name now keeps the mapping and leaves nothing to collide with.
  shm_unlink(("/mongoc-" + std::to_string(getpid())).c_str());
  return inferconf::cli::run(argc, argv, std::cout, std::cerr);
}
