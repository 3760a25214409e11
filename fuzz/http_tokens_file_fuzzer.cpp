// libFuzzer target: the tokens file (`serve --tokens FILE`): every line
// NAME:SHA256-HEX[:ro|:rw]. Bad lines are one inferconf::Error listing each.
#include "fuzz_support.hpp"
#include "http/api/tokens.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace inferconf;
  fuzz::only_inferconf_errors([&] {
    const auto table = http::TokenTable::parse(fuzz::text_of(data, size), "fuzz.tokens");
    (void)table.find("icf_not_a_token_of_the_table");
  });
  return 0;
}
