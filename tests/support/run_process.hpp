// Runs a program with arguments, standard input and extra environment, and
// captures its exit code, standard output and standard error. For end-to-end
// tests that drive the real `inferconf` binary.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace inferconf::testing {

struct ProcessResult {
  int exit_code = -1;  // 128 + signal when killed by a signal
  std::string out;
  std::string err;
};

ProcessResult run_process(const std::string& program, const std::vector<std::string>& args,
                          const std::string& stdin_text = {}, const std::map<std::string, std::string>& env = {},
                          int timeout_seconds = 60);

// build/inferconf of the build tree the test belongs to.
std::string inferconf_binary();

}  // namespace inferconf::testing
