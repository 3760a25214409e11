// docs/CLI.md is true to `--help`: every command and subcommand the real binary
// lists has a section, and every option its --help lists is named in that
// section. A command or option added without its documentation fails here.
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/run_process.hpp"

namespace inferconf::testing {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string help_of(const std::vector<std::string>& command) {
  std::vector<std::string> args = command;
  args.push_back("--help");
  const auto r = run_process(inferconf_binary(), args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

// The lines of the block that starts with `title` ("Options:", "Subcommands:")
// and ends at the first empty line.
std::vector<std::string> block(const std::string& help, const std::string& title) {
  std::vector<std::string> lines;
  std::istringstream in(help);
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line == title) {
      inside = true;
    } else if (inside) {
      if (line.empty()) break;
      lines.push_back(line);
    }
  }
  return lines;
}

std::vector<std::string> subcommands(const std::string& help) {
  std::vector<std::string> names;
  const std::regex entry("^  ([a-z][a-z0-9-]*) {2,}.*");
  for (const auto& line : block(help, "Subcommands:")) {
    std::smatch m;
    if (std::regex_match(line, m, entry)) names.push_back(m[1]);
  }
  return names;
}

// The long option names of an Options: block ("--jobs", "--checkpoint", "--file"), --help left out.
std::vector<std::string> long_options(const std::string& help) {
  std::vector<std::string> names;
  const std::regex first_column("^  (-[^ ]+)");
  const std::regex long_name("--[a-z0-9-]+");
  for (const auto& line : block(help, "Options:")) {
    std::smatch m;
    if (!std::regex_search(line, m, first_column)) continue;
    const std::string column = m[1];
    for (std::sregex_iterator it(column.begin(), column.end(), long_name), end; it != end; ++it)
      if (it->str() != "--help") names.push_back(it->str());
  }
  return names;
}

// Sections of docs/CLI.md by heading ("## `inferconf models`", "### `inferconf models scan`"):
// command -> text up to the next heading.
std::map<std::string, std::string> sections(const std::string& doc) {
  std::map<std::string, std::string> out;
  const std::regex heading("^#{2,3} `inferconf ([a-z0-9 -]+)`$");
  std::istringstream in(doc);
  std::string line, current;
  while (std::getline(in, line)) {
    std::smatch m;
    if (line.starts_with("#")) {
      current = std::regex_match(line, m, heading) ? m[1].str() : std::string("(other) ") + line;
      out[current];
      continue;
    }
    if (!current.empty()) out[current] += line + '\n';
  }
  return out;
}

class CliDocsTest : public ::testing::Test {
 protected:
  const std::string doc_ = read_file(std::string(INFERCONF_SOURCE_DIR) + "/docs/CLI.md");
  const std::map<std::string, std::string> sections_ = sections(doc_);

  // Every option of `command`'s --help is named in its section; recurses into subcommands.
  void expect_documented(const std::vector<std::string>& command) {
    std::string name;
    for (const auto& word : command) name += (name.empty() ? "" : " ") + word;
    const std::string help = help_of(command);
    const auto section = sections_.find(name);
    ASSERT_NE(section, sections_.end()) << "docs/CLI.md has no section \"## `inferconf " << name << "`\"";
    for (const auto& option : long_options(help))
      EXPECT_NE(section->second.find("`" + option), std::string::npos)
          << "docs/CLI.md, section `inferconf " << name << "`, does not name " << option;
    for (const auto& sub : subcommands(help)) {
      auto deeper = command;
      deeper.push_back(sub);
      expect_documented(deeper);
    }
  }
};

TEST_F(CliDocsTest, EveryCommandOfHelpHasASectionNamingEachOfItsOptions) {
  ASSERT_FALSE(doc_.empty()) << "docs/CLI.md is missing or empty";
  const std::string top = help_of({});
  const auto commands = subcommands(top);
  ASSERT_GE(commands.size(), 10u) << "inferconf --help lists too few commands to be read right:\n" << top;
  for (const auto& command : commands) expect_documented({command});
}

TEST_F(CliDocsTest, GlobalOptionsAndExitCodesAreDocumented) {
  const auto global = sections_.find("(other) ## Global options");
  ASSERT_NE(global, sections_.end());
  for (const auto& option : long_options(help_of({})))
    EXPECT_NE(global->second.find("`" + option), std::string::npos) << "docs/CLI.md does not name " << option;
  const auto codes = sections_.find("(other) ## Exit codes");
  ASSERT_NE(codes, sections_.end());
  for (const char* code : {"| 0 |", "| 1 |", "| 2 |", "| 3 |", "| 4 |", "| 5 |", "| 130 |"})
    EXPECT_NE(codes->second.find(code), std::string::npos) << "docs/CLI.md, Exit codes, lacks " << code;
}

}  // namespace
}  // namespace inferconf::testing
