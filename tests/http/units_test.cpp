// The HTTP layer's parts that need no socket: tokens, entity tags, cursors,
// percent-decoding, and the index's consistency under changes.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "http/index/configuration_index.hpp"
#include "http/api/request_parts.hpp"
#include "http/api/tokens.hpp"
#include "inferconf/error.hpp"

namespace inferconf::testing {
namespace {

TEST(Tokens, NewTokensAreRandomAndTheirLineIsAccepted) {
  const std::string a = http::new_token(), b = http::new_token();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.size(), 4u + 43u);
  const auto table = http::TokenTable::parse(http::token_file_line("ci", a, true) + "\n", "t");
  const auto* entry = table.find(a);
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->name, "ci");
  EXPECT_TRUE(entry->read_only);
  EXPECT_EQ(table.find(b), nullptr);
  EXPECT_EQ(table.find(a.substr(0, a.size() - 1)), nullptr);
  EXPECT_EQ(table.find(""), nullptr);
}

TEST(Tokens, Sha256IsTheStandardDigest) {
  EXPECT_EQ(http::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Tokens, EveryBadLineIsReportedWithItsNumber) {
  const std::string text =
      "# comment\n"
      "\n"
      "good:" + http::sha256_hex("x") + "\n"
      "bad name:" + http::sha256_hex("y") + "\n"
      "short:abc\n"
      "good:" + http::sha256_hex("z") + "\n"
      "marker:" + http::sha256_hex("w") + ":admin\n"
      "no-colon\n";
  try {
    http::TokenTable::parse(text, "tokens.txt");
    FAIL() << "accepted a bad file";
  } catch (const Error& e) {
    ASSERT_EQ(e.field_errors().size(), 5u) << e.what();
    EXPECT_EQ(e.field_errors()[0].field, "tokens.txt:4");
    EXPECT_EQ(e.field_errors()[1].field, "tokens.txt:5");
    EXPECT_EQ(e.field_errors()[2].field, "tokens.txt:6");  // the repeated name
    EXPECT_EQ(e.field_errors()[3].field, "tokens.txt:7");
    EXPECT_EQ(e.field_errors()[4].field, "tokens.txt:8");
    EXPECT_NE(e.field_errors()[1].message.find("64 hexadecimal"), std::string::npos);
  }
}

TEST(Tokens, ATokenPastedWhereItsHashBelongsIsNeverEchoed) {
  const std::string token = http::new_token();
  try {
    http::TokenTable::parse("ci:" + token + "\n", "tokens.txt");
    FAIL() << "accepted a raw token";
  } catch (const Error& e) {
    std::string all = e.what();
    for (const auto& f : e.field_errors()) all += f.message;
    EXPECT_EQ(all.find(token), std::string::npos) << all;
    EXPECT_EQ(all.find(token.substr(0, 12)), std::string::npos) << all;
    EXPECT_NE(all.find("1 invalid line"), std::string::npos) << all;  // counted before the list moved
  }
}

TEST(Tokens, OneHashUnderTwoNamesIsRefused) {
  const std::string hash = http::sha256_hex("same");
  try {
    http::TokenTable::parse("a:" + hash + "\nb:" + hash + ":ro\n", "tokens.txt");
    FAIL() << "accepted one token under two names";
  } catch (const Error& e) {
    ASSERT_EQ(e.field_errors().size(), 1u);
    EXPECT_EQ(e.field_errors()[0].field, "tokens.txt:2");
    EXPECT_NE(e.field_errors()[0].message.find("\"a\""), std::string::npos);
  }
}

TEST(Tokens, AFileOthersCanReadIsLoadedWithAWarning) {
  const auto file = std::filesystem::temp_directory_path() / ("inferconf-tokens-" + std::to_string(::getpid()));
  std::ofstream(file) << http::token_file_line("ci", "icf_x", false) << "\n";
  std::filesystem::permissions(file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_TRUE(http::TokenTable::load(file).warnings().empty());
  std::filesystem::permissions(file, std::filesystem::perms::others_read, std::filesystem::perm_options::add);
  const auto table = http::TokenTable::load(file);
  ASSERT_EQ(table.warnings().size(), 1u);
  EXPECT_NE(table.warnings()[0].find("chmod 600"), std::string::npos);
  std::filesystem::remove(file);
}

TEST(RequestParts, EntityTags) {
  auto star = http::parse_entity_tags(" *");
  ASSERT_TRUE(star);
  EXPECT_TRUE(star->empty());
  auto list = http::parse_entity_tags("\"a.1\", W/\"b\" ,\"c\"");
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].opaque, "a.1");
  EXPECT_TRUE((*list)[1].weak);
  for (const char* bad : {"", "abc", "\"open", "\"a\" \"b\"", "\"a\",", "\"a b\""})
    EXPECT_FALSE(http::parse_entity_tags(bad)) << bad;
}

TEST(RequestParts, PercentDecoding) {
  EXPECT_EQ(http::percent_decode("a%2Fb%20c", false), "a/b c");
  EXPECT_EQ(http::percent_decode("a+b", true), "a b");
  EXPECT_EQ(http::percent_decode("a+b", false), "a+b");
  EXPECT_EQ(http::percent_decode("%C3%BC", false), "\xC3\xBC");
  for (const char* bad : {"%", "%4", "%zz", "%00", "%ff", "%C0%AF", "%ED%A0%80"})
    EXPECT_FALSE(http::percent_decode(bad, false)) << bad;
  EXPECT_EQ(http::percent_decode(http::percent_encode("org/mödel name"), false), "org/mödel name");
}

TEST(RequestParts, CursorsRoundTripAndRefuseOtherListings) {
  const auto cursor = http::encode_cursor('b', {"model-1", "quality"});
  const auto key = http::decode_cursor(cursor, 'b');
  EXPECT_EQ(key.a, "model-1");
  EXPECT_EQ(key.b, "quality");
  EXPECT_THROW(http::decode_cursor(cursor, 'i'), Error);
  EXPECT_THROW(http::decode_cursor("!!", 'i'), Error);
  EXPECT_THROW(http::decode_cursor("", 'i'), Error);
}

InferenceConfiguration config(const std::string& id_suffix, const std::string& model, const std::string& type,
                               std::int64_t revision = 1, const std::string& base = "sdxl") {
  InferenceConfiguration c;
  c.id = "00000000-0000-4000-8000-0000000000" + id_suffix;
  c.model_id = model;
  c.base_model = base;
  c.configuration_type = type;
  c.steps = 30;
  c.cfg_scale = 7;
  c.sampler = "euler";
  c.scheduler = "normal";
  c.revision = revision;
  return c;
}

TEST(Index, DocumentsKeepTheirKeysEvenWhenJsonEscapesThem) {
  auto doc = http::Doc::make(config("01", "we\"ird\\model\n", "quality"));
  EXPECT_EQ(doc->model_id(), "we\"ird\\model\n");
  EXPECT_EQ(doc->type(), "quality");
  EXPECT_EQ(doc->base_model(), "sdxl");
  EXPECT_EQ(doc->configuration(), config("01", "we\"ird\\model\n", "quality"));
  EXPECT_EQ(nlohmann::json::parse(doc->body()), nlohmann::json(config("01", "we\"ird\\model\n", "quality")));
}

TEST(Index, ChangesKeepEveryAccessPathConsistent) {
  http::ConfigurationIndex index;
  index.upsert(http::Doc::make(config("01", "m1", "quality")));
  index.upsert(http::Doc::make(config("02", "m1", "speed")));
  index.upsert(http::Doc::make(config("03", "m2", "quality", 1, "flux_dev")));
  EXPECT_EQ(index.size(), 3u);
  // An older revision never replaces a newer one.
  index.upsert(http::Doc::make(config("01", "m1", "quality", 3)));
  index.upsert(http::Doc::make(config("01", "m1", "quality", 2)));
  EXPECT_EQ(index.by_id(config("01", "", "").id)->revision(), 3);
  // A change set that swaps two types of a model (possible across commits).
  ChangeSet swap;
  swap.upserted = {config("01", "m1", "speed", 4), config("02", "m1", "quality", 2)};
  index.apply(swap);
  EXPECT_EQ(index.by_model_and_type("m1", "speed")->id(), config("01", "", "").id);
  EXPECT_EQ(index.by_model_and_type("m1", "quality")->id(), config("02", "", "").id);
  EXPECT_EQ(index.size(), 3u);
  ChangeSet del;
  del.deleted_ids = {config("03", "", "").id};
  index.apply(del);
  EXPECT_FALSE(index.by_model_and_type("m2", "quality"));
  EXPECT_TRUE(index.page_by_base_model("flux_dev", std::nullopt, std::nullopt, 10).items.empty());
  EXPECT_EQ(index.by_model("m1").size(), 2u);
}

TEST(Index, LargeChangeSetsAreAppliedLikeSmallOnes) {
  http::ConfigurationIndex small, large;
  ChangeSet changes;
  for (int i = 0; i < 300; ++i) {
    auto c = config(fmt::format("{:02x}", i % 256), "model-" + std::to_string(i), "quality");
    c.id = fmt::format("00000000-0000-4000-8000-{:012d}", i);
    changes.upserted.push_back(c);
    small.upsert(http::Doc::make(c));
  }
  large.apply(changes);
  ASSERT_EQ(large.size(), 300u);
  auto a = small.page_by_id(std::nullopt, std::nullopt, 500), b = large.page_by_id(std::nullopt, std::nullopt, 500);
  ASSERT_EQ(a.items.size(), b.items.size());
  for (std::size_t i = 0; i < a.items.size(); ++i) EXPECT_EQ(a.items[i]->body(), b.items[i]->body());
  auto page = large.page_by_base_model("sdxl", std::string_view("quality"), std::nullopt, 100);
  EXPECT_EQ(page.items.size(), 100u);
  ASSERT_TRUE(page.next);
  auto rest = large.page_by_base_model("sdxl", std::string_view("quality"), page.next, 500);
  EXPECT_EQ(rest.items.size(), 200u);
  EXPECT_FALSE(rest.next);
}

TEST(Index, RandomChangesAgreeWithASimpleModel) {
  // Many inserts, replacements, type changes and deletions, checked against a
  // std::map: exercises the open-addressing table's tombstones and growth.
  http::ConfigurationIndex index;
  std::map<std::string, InferenceConfiguration> model;  // by id
  std::mt19937 rng(7);
  for (int step = 0; step < 20000; ++step) {
    const int slot = static_cast<int>(rng() % 3000);
    auto c = config("00", "m" + std::to_string(slot % 1500), slot % 2 ? "speed" : "quality");
    c.id = fmt::format("00000000-0000-4000-8000-{:012d}", slot);
    const auto op = rng() % 4;
    if (op == 0) {
      index.erase(c.id);
      model.erase(c.id);
      continue;
    }
    auto it = model.find(c.id);
    c.revision = it == model.end() ? 1 : it->second.revision + 1;
    if (op == 1) c.configuration_type = c.configuration_type == "speed" ? "quality" : "speed";
    // Like the store: a (model_id, type) belongs to one configuration.
    for (auto m = model.begin(); m != model.end();)
      m = (m->first != c.id && m->second.model_id == c.model_id && m->second.configuration_type == c.configuration_type)
              ? model.erase(m)
              : std::next(m);
    model[c.id] = c;
    index.upsert(http::Doc::make(c));
  }
  ASSERT_EQ(index.size(), model.size());
  for (const auto& [id, c] : model) {
    auto d = index.by_model_and_type(c.model_id, c.configuration_type);
    ASSERT_TRUE(d) << c.model_id << " " << c.configuration_type;
    EXPECT_EQ(d->id(), id);
    EXPECT_EQ(d->revision(), c.revision);
    EXPECT_EQ(index.by_id(id)->body(), d->body());
  }
}

}  // namespace
}  // namespace inferconf::testing
