// What only the SQLite store does: files that cannot be used, schema
// migration and checks, WAL, several connections on one file, the change log.
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <stdexcept>
#include <chrono>
#include <tuple>

#include <fstream>
#include <thread>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <fmt/format.h>

#include "store/scratch_dir.hpp"
#include "store/sqlite/checkpointer.hpp"
#include "store/sqlite/connection.hpp"
#include "store/sqlite/rows.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store/store_test_support.hpp"

namespace inferconf::testing {
namespace {

namespace fs = std::filesystem;

void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary);
  out << bytes;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool mentions(const Error& e, const fs::path& p) { return std::string(e.what()).find(p.string()) != std::string::npos; }

std::unique_ptr<Store> open_ready(const fs::path& p, const SqliteStoreOptions& options = {}) {
  auto s = open_sqlite_store(p, options);
  s->ensure_schema();
  return s;
}

// The version-1 layout, as a file written before revisions and the change log existed.
void create_version1_file(const fs::path& p, bool with_unique_index = true) {
  SQLite::Database db(p, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  db.exec(
      "CREATE TABLE inference_configurations (id TEXT NOT NULL, model_id TEXT NOT NULL, base_model TEXT NOT NULL,"
      " configuration_type TEXT NOT NULL, steps INTEGER NOT NULL, cfg_scale REAL NOT NULL, sampler TEXT NOT NULL,"
      " scheduler TEXT NOT NULL, model_specific_params TEXT NOT NULL DEFAULT '{}', created_at INTEGER NOT NULL,"
      " updated_at INTEGER NOT NULL);"
      "CREATE TABLE database_models (id TEXT NOT NULL, name TEXT NOT NULL, is_active INTEGER NOT NULL,"
      " base_model TEXT, metadata TEXT NOT NULL DEFAULT '{}', file_path TEXT);"
      "CREATE UNIQUE INDEX idx_inference_configurations_id ON inference_configurations (id);"
      "CREATE INDEX idx_inference_configurations_model_id ON inference_configurations (model_id);"
      "CREATE INDEX idx_inference_configurations_base_model ON inference_configurations (base_model);"
      "CREATE UNIQUE INDEX idx_database_models_id ON database_models (id);"
      "INSERT INTO inference_configurations VALUES ('11111111-1111-4111-8111-111111111111', 'old-model', 'sdxl',"
      " 'quality', 30, 7.0, 'dpmpp_2m', 'karras', '{\"width\":1024}', 1704067200000, 1704067200000);"
      "INSERT INTO inference_configurations VALUES ('22222222-2222-4222-8222-222222222222', 'old-model', 'sdxl',"
      " 'speed', 12, 6.0, 'euler', 'normal', '{}', 1704067200000, 1704067200000);"
      "INSERT INTO database_models VALUES ('old-model', 'Old Model', 1, 'sdxl', '{}', NULL);"
      "PRAGMA user_version = 1;");
  if (with_unique_index)
    db.exec(
        "CREATE UNIQUE INDEX idx_inference_configurations_model_id_configuration_type ON inference_configurations "
        "(model_id, configuration_type)");
}

int user_version(const fs::path& p) {
  SQLite::Database db(p, SQLite::OPEN_READONLY);
  return db.execAndGet("PRAGMA user_version").getInt();
}

// Opens the file and reads everything; returns the first inferconf::Error, if any.
std::optional<Error> first_error_reading(const fs::path& p) {
  try {
    auto s = open_sqlite_store(p);
    s->count({});
    s->for_each_configuration([](const InferenceConfiguration&) { return true; });
    s->find_by_base_model("sdxl");
    s->for_each_model(false, [](const ModelRecord&) { return true; });
    return std::nullopt;
  } catch (const Error& e) {
    return e;
  }
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  ScratchDir dir_;
};

TEST_F(SqliteStoreTest, AFileThatIsNotADatabaseIsUnavailableAndLeftAlone) {
  for (const std::string& garbage : {std::string("hello, I am a text file\n"), std::string(8192, 'x')}) {
    const auto p = dir_.file("garbage.db");
    write_file(p, garbage);
    const Error e = expect_error(ErrorCode::kUnavailable, [&] { open_sqlite_store(p); });
    EXPECT_TRUE(mentions(e, p)) << e.what();
    EXPECT_NE(std::string(e.what()).find("not an SQLite database"), std::string::npos) << e.what();
    EXPECT_EQ(read_file(p), garbage);
  }
}

TEST_F(SqliteStoreTest, ATruncatedDatabaseIsUnavailable) {
  const auto p = dir_.file("truncated.db");
  {
    auto s = open_ready(p);
    std::vector<CreateDTO> dtos;
    for (int i = 0; i < 3000; ++i) dtos.push_back(make_dto("model-" + std::to_string(i)));
    s->create_many(dtos);
  }  // the last connection to close checkpoints the WAL into the file
  ASSERT_FALSE(fs::exists(dir_.file("truncated.db-wal")));
  fs::resize_file(p, fs::file_size(p) / 2);
  const auto e = first_error_reading(p);
  ASSERT_TRUE(e.has_value()) << "reading a truncated file must fail";
  EXPECT_EQ(e->code(), ErrorCode::kUnavailable) << e->what();
  EXPECT_TRUE(mentions(*e, p)) << e->what();
}

TEST_F(SqliteStoreTest, ADatabaseWithOverwrittenPagesIsUnavailable) {
  const auto p = dir_.file("corrupt.db");
  {
    auto s = open_ready(p);
    std::vector<CreateDTO> dtos;
    for (int i = 0; i < 3000; ++i) dtos.push_back(make_dto("model-" + std::to_string(i)));
    s->create_many(dtos);
  }
  std::string bytes = read_file(p);
  for (std::size_t i = 4096; i < bytes.size(); i += 4096) bytes.replace(i, 64, std::string(64, '\x5a'));
  write_file(p, bytes);
  const auto e = first_error_reading(p);
  ASSERT_TRUE(e.has_value()) << "reading a corrupt file must fail";
  EXPECT_EQ(e->code(), ErrorCode::kUnavailable) << e->what();
  EXPECT_TRUE(mentions(*e, p)) << e->what();
}

TEST_F(SqliteStoreTest, APathUnderARegularFileIsUnavailable) {
  write_file(dir_.file("plain"), "a file, not a directory");
  const auto p = dir_.file("plain") / "inferconf.db";
  const Error e = expect_error(ErrorCode::kUnavailable, [&] { open_sqlite_store(p); });
  EXPECT_TRUE(mentions(e, p)) << e.what();
  const auto deeper = dir_.file("plain") / "sub" / "inferconf.db";
  expect_error(ErrorCode::kUnavailable, [&] { open_sqlite_store(deeper); });
}

TEST_F(SqliteStoreTest, MissingParentDirectoriesAreCreated) {
  const auto p = dir_.file("data") / "nested" / "inferconf.db";
  open_ready(p)->create(make_dto("m1"));
  EXPECT_TRUE(fs::exists(p));
}

// Two processes populating the same new database at once: one switched the
// file to WAL while the other was reading it, and SQLite refused the switch at
// once (SQLITE_BUSY, without its busy handler), so the run failed claiming the
// file "stayed locked for more than 5000 ms" after a few milliseconds.
TEST_F(SqliteStoreTest, SwitchingAFileToWalWaitsWhileAnotherConnectionReadsIt) {
  const auto p = dir_.file("rollback-journal.db");
  SQLite::Database reader(p, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  reader.exec("CREATE TABLE other (x INTEGER); INSERT INTO other VALUES (1)");
  ASSERT_EQ(reader.execAndGet("PRAGMA journal_mode").getString(), "delete");
  reader.exec("BEGIN");
  ASSERT_EQ(reader.execAndGet("SELECT count(*) FROM other").getInt(), 1);  // holds the shared lock
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    reader.exec("COMMIT");
  });
  std::optional<std::string> failure;
  try {
    open_ready(p)->create(make_dto("m1"));
  } catch (const Error& e) {
    failure = e.what();
  }
  release.join();
  EXPECT_FALSE(failure) << *failure;
  SQLite::Database after(p, SQLite::OPEN_READONLY);
  EXPECT_EQ(after.execAndGet("PRAGMA journal_mode").getString(), "wal");
}

TEST_F(SqliteStoreTest, AReadOnlyDirectoryIsUnavailable) {
  if (::geteuid() == 0) {
    GTEST_SKIP() << "running as root, which writes into a chmod 0555 directory anyway; the read-only case is "
                    "covered by AStoreOpenedReadOnlyRefusesEveryWrite";
  }
  const auto ro = dir_.file("ro");
  fs::create_directories(ro);
  {
    auto s = open_ready(ro / "existing.db");
    s->create(make_dto("m1"));
  }
  fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                          fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec);
  const Error e = expect_error(ErrorCode::kUnavailable, [&] { open_sqlite_store(ro / "new.db"); });
  EXPECT_TRUE(mentions(e, ro / "new.db")) << e.what();
  expect_error(ErrorCode::kUnavailable, [&] {
    auto s = open_sqlite_store(ro / "existing.db");
    s->create(make_dto("m2"));
  });
  fs::permissions(ro, fs::perms::owner_all, fs::perm_options::add);
  EXPECT_EQ(open_ready(ro / "existing.db")->count({}), 1);
}

TEST_F(SqliteStoreTest, AStoreOpenedReadOnlyRefusesEveryWrite) {
  const auto p = dir_.file("shared.db");
  auto writer = open_ready(p);
  const auto c = writer->create(make_dto("m1"));
  writer->upsert_models({{"m1", "Model 1", true, "sdxl", nlohmann::json::object(), std::nullopt}});

  SqliteStoreOptions options;
  options.read_only = true;
  auto reader = open_sqlite_store(p, options);
  reader->ensure_schema();  // current already: nothing to write
  EXPECT_EQ(reader->get(c.id), c);
  EXPECT_EQ(reader->count_models(false), 1);

  UpdateDTO u;
  u.steps = 5;
  std::vector<Error> errors = {
      expect_error(ErrorCode::kUnavailable, [&] { reader->create(make_dto("m2")); }),
      expect_error(ErrorCode::kUnavailable, [&] { reader->create_many({make_dto("m3"), make_dto("m4")}); }),
      expect_error(ErrorCode::kUnavailable, [&] { reader->create_missing({make_dto("m5")}, false); }),
      expect_error(ErrorCode::kUnavailable, [&] { reader->update(c.id, u, std::nullopt); }),
      expect_error(ErrorCode::kUnavailable, [&] { reader->replace(c.id, make_dto("m1", "quality", "pony"), 1); }),
      expect_error(ErrorCode::kUnavailable, [&] { reader->remove(c.id, std::nullopt); }),
      expect_error(ErrorCode::kUnavailable, [&] {
        reader->upsert_models({{"m9", "Model 9", true, std::nullopt, nlohmann::json::object(), std::nullopt}});
      }),
  };
  for (const auto& e : errors) EXPECT_TRUE(mentions(e, p)) << e.what();
  EXPECT_EQ(writer->get(c.id), c);
  EXPECT_EQ(writer->count({}), 1);
  EXPECT_EQ(writer->count_models(false), 1);
}

TEST_F(SqliteStoreTest, OpeningAMissingFileReadOnlyIsUnavailable) {
  SqliteStoreOptions options;
  options.read_only = true;
  const auto p = dir_.file("absent.db");
  const Error e = expect_error(ErrorCode::kUnavailable, [&] { open_sqlite_store(p, options); });
  EXPECT_TRUE(mentions(e, p)) << e.what();
  EXPECT_FALSE(fs::exists(p));
}

TEST_F(SqliteStoreTest, MethodsBeforeEnsureSchemaAskForInit) {
  const auto p = dir_.file("empty.db");
  auto s = open_sqlite_store(p);
  const Error e = expect_error(ErrorCode::kUnavailable, [&] { s->get("x"); });
  EXPECT_NE(std::string(e.what()).find("inferconf init"), std::string::npos) << e.what();
  expect_error(ErrorCode::kUnavailable, [&] { s->create(make_dto("m1")); });
  EXPECT_FALSE(s->check_schema().empty());
  s->ensure_schema();
  EXPECT_EQ(s->check_schema(), std::vector<std::string>{});
}

TEST_F(SqliteStoreTest, AVersion1FileIsMigratedForward) {
  const auto p = dir_.file("v1.db");
  create_version1_file(p);
  auto s = open_sqlite_store(p);
  EXPECT_FALSE(s->check_schema().empty()) << "version 1 is not current";
  s->ensure_schema();
  EXPECT_EQ(s->check_schema(), std::vector<std::string>{});
  EXPECT_EQ(user_version(p), 3);

  const auto old = s->get("11111111-1111-4111-8111-111111111111");
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(old->revision, 1);
  EXPECT_EQ(old->model_specific_params, (nlohmann::json{{"width", 1024}}));
  // History starts at the migration: a baseline revision holding the document as it was.
  const auto history = s->revisions(old->id, 10, std::nullopt);
  ASSERT_EQ(history.items.size(), 1u);
  EXPECT_EQ(history.items[0].operation, RevisionOperation::kBaseline);
  EXPECT_EQ(history.items[0].document, *old);
  EXPECT_EQ(format_timestamp(old->created_at), "2024-01-01T00:00:00.000Z");
  EXPECT_EQ(s->count({}), 2);
  EXPECT_EQ(s->get_model("old-model")->name, "Old Model");

  const std::string cursor = s->change_cursor();
  UpdateDTO u;
  u.steps = 28;
  EXPECT_EQ(s->update(old->id, u, 1).revision, 2);
  EXPECT_EQ(s->changes_since(cursor).upserted.size(), 1U);
  expect_error(ErrorCode::kConflict, [&] { s->create(make_dto("old-model", "speed")); });
}

TEST_F(SqliteStoreTest, AVersion0FileWithOtherTablesGetsTheSchemaAndKeepsThem) {
  const auto p = dir_.file("v0.db");
  {
    SQLite::Database db(p, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('keep me')");
  }
  open_ready(p)->create(make_dto("m1"));
  SQLite::Database db(p, SQLite::OPEN_READONLY);
  EXPECT_EQ(db.execAndGet("SELECT text FROM notes").getString(), "keep me");
  EXPECT_EQ(db.execAndGet("PRAGMA user_version").getInt(), 3);
}

TEST_F(SqliteStoreTest, ANewerSchemaVersionIsRefused) {
  const auto p = dir_.file("future.db");
  open_ready(p);
  {
    SQLite::Database db(p, SQLite::OPEN_READWRITE);
    db.exec("PRAGMA user_version = 99");
  }
  auto s = open_sqlite_store(p);
  const Error e = expect_error(ErrorCode::kUnavailable, [&] { s->ensure_schema(); });
  EXPECT_NE(std::string(e.what()).find("99"), std::string::npos) << e.what();
  EXPECT_EQ(user_version(p), 99);
  EXPECT_FALSE(s->check_schema().empty());
}

TEST_F(SqliteStoreTest, AnIndexOfOursWithAnotherDefinitionIsRefusedAndNothingChanges) {
  const auto p = dir_.file("bad-index.db");
  create_version1_file(p);
  {
    SQLite::Database db(p, SQLite::OPEN_READWRITE);
    db.exec("DROP INDEX idx_inference_configurations_base_model;"
            "CREATE INDEX idx_inference_configurations_base_model ON inference_configurations (sampler)");
  }
  auto s = open_sqlite_store(p);
  const Error e = expect_error(ErrorCode::kInvalid, [&] { s->ensure_schema(); });
  EXPECT_NE(std::string(e.what()).find("idx_inference_configurations_base_model"), std::string::npos) << e.what();
  EXPECT_EQ(user_version(p), 1) << "a refused migration leaves the file as it was";
  const auto problems = s->check_schema();
  EXPECT_TRUE(std::any_of(problems.begin(), problems.end(), [](const std::string& m) {
    return m.find("idx_inference_configurations_base_model") != std::string::npos;
  }));
}

TEST_F(SqliteStoreTest, DuplicateRowsThatBlockTheUniqueIndexAreNamed) {
  const auto p = dir_.file("dupes.db");
  create_version1_file(p, /*with_unique_index=*/false);
  {
    SQLite::Database db(p, SQLite::OPEN_READWRITE);
    db.exec("INSERT INTO inference_configurations VALUES ('33333333-3333-4333-8333-333333333333', 'old-model',"
            " 'sdxl', 'quality', 25, 7.5, 'euler', 'normal', '{}', 1704067200000, 1704067200000)");
  }
  auto s = open_sqlite_store(p);
  const Error e = expect_error(ErrorCode::kInvalid, [&] { s->ensure_schema(); });
  EXPECT_NE(std::string(e.what()).find("old-model"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("quality"), std::string::npos) << e.what();
  EXPECT_EQ(user_version(p), 1);
}

TEST_F(SqliteStoreTest, CheckSchemaReportsDroppedAndForeignIndexesAndEnsureSchemaRepairs) {
  const auto p = dir_.file("repair.db");
  auto s = open_ready(p);
  {
    SQLite::Database db(p, SQLite::OPEN_READWRITE);
    db.exec("DROP INDEX idx_inference_configurations_model_id_configuration_type;"
            "DROP TABLE configuration_changes;"
            "CREATE INDEX my_own_index ON inference_configurations (sampler)");
  }
  const auto problems = s->check_schema();
  const auto reported = [&](const std::string& name) {
    return std::any_of(problems.begin(), problems.end(),
                       [&](const std::string& m) { return m.find(name) != std::string::npos; });
  };
  EXPECT_TRUE(reported("idx_inference_configurations_model_id_configuration_type"));
  EXPECT_TRUE(reported("configuration_changes"));
  EXPECT_TRUE(reported("my_own_index"));
  s->ensure_schema();
  const auto after = s->check_schema();
  ASSERT_EQ(after.size(), 1U) << "only the foreign index remains: " << ::testing::PrintToString(after);
  EXPECT_NE(after[0].find("my_own_index"), std::string::npos);
  const std::string cursor = s->change_cursor();
  const auto c = s->create(make_dto("after-repair"));
  EXPECT_EQ(s->changes_since(cursor).upserted, std::vector<InferenceConfiguration>{c});
}

TEST_F(SqliteStoreTest, TheIndexesAreNamedUniqueAndEnforcedInSqliteMaster) {
  const auto p = dir_.file("indexes.db");
  open_ready(p)->create(make_dto("m1"));
  SQLite::Database db(p, SQLite::OPEN_READWRITE);
  const std::vector<std::tuple<std::string, std::string, int, std::string>> expected = {
      {"idx_database_models_id", "database_models", 1, "id"},
      {"idx_inference_configuration_revisions_configuration_revision", "inference_configuration_revisions", 1,
       "configuration_id,revision"},
      {"idx_inference_configuration_revisions_model_type_changed_at", "inference_configuration_revisions", 0,
       "model_id,configuration_type,changed_at"},
      {"idx_inference_configurations_base_model", "inference_configurations", 0, "base_model"},
      {"idx_inference_configurations_id", "inference_configurations", 1, "id"},
      {"idx_inference_configurations_model_id", "inference_configurations", 0, "model_id"},
      {"idx_inference_configurations_model_id_configuration_type", "inference_configurations", 1,
       "model_id,configuration_type"},
  };
  SQLite::Statement q(db,
                      "SELECT m.name, m.tbl_name, l.\"unique\", (SELECT group_concat(name, ',') FROM "
                      "(SELECT name FROM pragma_index_info(m.name) ORDER BY seqno)) FROM sqlite_master m "
                      "JOIN pragma_index_list(m.tbl_name) l ON l.name = m.name WHERE m.type = 'index' ORDER BY 1");
  std::vector<std::tuple<std::string, std::string, int, std::string>> actual;
  while (q.executeStep())
    actual.emplace_back(q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getInt(),
                        q.getColumn(3).getString());
  EXPECT_EQ(actual, expected);

  // The database itself refuses a duplicate, whoever writes it.
  try {
    db.exec("INSERT INTO inference_configurations (id, model_id, base_model, configuration_type, steps, cfg_scale,"
            " sampler, scheduler, model_specific_params, created_at, updated_at, revision) SELECT"
            " 'another-id', model_id, base_model, configuration_type, steps, cfg_scale, sampler, scheduler,"
            " model_specific_params, created_at, updated_at, 1 FROM inference_configurations");
    ADD_FAILURE() << "the unique index let a duplicate (model_id, configuration_type) in";
  } catch (const SQLite::Exception& e) {
    EXPECT_EQ(e.getExtendedErrorCode(), SQLITE_CONSTRAINT_UNIQUE);
  }
}

using sqlite::from_millis;
using sqlite::to_millis;

// The audit view finds a time range by bisection over seq, which is right
// only while revision times never go back in seq order: a revision made after
// one stamped in the future (a clock that was ahead, then corrected) takes
// that time rather than an earlier one.
TEST_F(SqliteStoreTest, ARevisionAfterOneStampedInTheFutureIsNotDatedBeforeIt) {
  const auto p = dir_.file("clock.db");
  auto store = open_ready(p);
  const auto c = store->create(make_dto("m1"), WriteContext{"ops", std::nullopt});
  const std::int64_t future_ms = to_millis(now_utc()) + 3'600'000;
  {
    SQLite::Database db(p, SQLite::OPEN_READWRITE);
    db.exec(fmt::format("UPDATE inference_configuration_revisions SET changed_at = {}", future_ms));
  }
  UpdateDTO u;
  u.steps = 12;
  store->update(c.id, u, std::nullopt, WriteContext{"ops", std::nullopt});
  store->remove(c.id, std::nullopt, WriteContext{"ops", std::nullopt});
  const auto history = store->revisions(c.id, 10, std::nullopt).items;
  ASSERT_EQ(history.size(), 3u);
  for (const auto& r : history) EXPECT_EQ(to_millis(r.at), future_ms) << "revision " << r.revision;

  AuditQuery from_the_future;
  from_the_future.since = from_millis(future_ms);
  EXPECT_EQ(store->audit(from_the_future, 10, std::nullopt).items.size(), 3u);
  AuditQuery before_it;
  before_it.until = from_millis(future_ms - 1);
  EXPECT_EQ(store->audit(before_it, 10, std::nullopt).items.size(), 0u);
}

// since and until bound the audit view exactly, at every position of a long
// history, and pages of a bounded view follow one another without a gap.
TEST_F(SqliteStoreTest, AuditTimeBoundsSelectExactlyTheRevisionsInTheRange) {
  const auto p = dir_.file("audit.db");
  auto store = open_ready(p);
  const auto c = store->create(make_dto("m1"), WriteContext{"ops", std::nullopt});
  UpdateDTO u;
  for (int i = 0; i < 300; ++i) {
    u.steps = 10 + i % 40;
    store->update(c.id, u, std::nullopt, WriteContext{i % 3 == 0 ? "alice" : "bob", std::nullopt});
  }
  // Spread the 301 revisions over distinct times, 10 ms apart, in seq order.
  {
    SQLite::Database db(p, SQLite::OPEN_READWRITE);
    db.exec("UPDATE inference_configuration_revisions SET changed_at = 1700000000000 + 10 * revision");
  }
  const auto at = [](std::int64_t revision) { return from_millis(1700000000000 + 10 * revision); };
  for (const auto& [since, until] : {std::pair<int, int>{1, 301}, {2, 300}, {150, 150}, {37, 211}, {300, 301}}) {
    AuditQuery q;
    q.since = at(since);
    q.until = at(until);
    std::vector<std::int64_t> seen;
    std::optional<std::string> cursor;
    do {
      auto page = store->audit(q, 7, cursor ? std::optional<std::string_view>(*cursor) : std::nullopt);
      for (const auto& r : page.items) seen.push_back(r.revision);
      cursor = page.next_cursor;
    } while (cursor);
    std::vector<std::int64_t> expected;
    for (std::int64_t r = until; r >= since; --r) expected.push_back(r);
    EXPECT_EQ(seen, expected) << "since revision " << since << ", until revision " << until;
  }
  AuditQuery alice_between;
  alice_between.actor = "alice";
  alice_between.since = at(2);
  alice_between.until = at(10);
  std::vector<std::int64_t> alice;
  for (const auto& r : store->audit(alice_between, 100, std::nullopt).items) alice.push_back(r.revision);
  EXPECT_EQ(alice, (std::vector<std::int64_t>{8, 5, 2}));
  AuditQuery after_everything;
  after_everything.since = at(302);
  EXPECT_TRUE(store->audit(after_everything, 100, std::nullopt).items.empty());
}

TEST_F(SqliteStoreTest, TheFileIsInWalModeAtTheCurrentVersion) {
  const auto p = dir_.file("wal.db");
  open_ready(p);
  SQLite::Database db(p, SQLite::OPEN_READONLY);
  EXPECT_EQ(db.execAndGet("PRAGMA journal_mode").getString(), "wal");
  EXPECT_EQ(db.execAndGet("PRAGMA user_version").getInt(), 3);
}

// Writers leave checkpoints to the store's own thread: the rows reach the
// database file while the store stays open, long before the WAL would reach
// the size at which a committing thread checkpoints (256 MiB). Before that
// thread existed, the file stayed at its empty size until the store closed.
TEST_F(SqliteStoreTest, TheWalIsCheckpointedInTheBackgroundWhileTheStoreStaysOpen) {
  const auto p = dir_.file("checkpoint.db");
  SqliteStoreOptions options;
  options.wal_checkpoint_bytes = 256 << 10;
  auto s = open_ready(p, options);
  const auto empty_size = fs::file_size(p);
  auto preset = make_dto("unused", "quality", "sdxl");
  preset.model_specific_params = {{"prompt_prefix", std::string(300, 'p')}};
  std::vector<std::string> ids;
  for (int i = 0; i < 10000; ++i) ids.push_back(fmt::format("model-{:05}", i));
  for (std::size_t from = 0; from < ids.size(); from += 500) {
    PresetForModels group{&preset, {}};
    for (std::size_t i = from; i < from + 500; ++i) group.model_ids.push_back(std::cref(ids[i]));
    ASSERT_EQ(s->create_missing_for_models({group}, false), std::vector<bool>(500, true));
  }
  // The thread works on its own time: wait for it (generously, on a busy machine).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (fs::file_size(p) < empty_size + (std::uintmax_t{3} << 20) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_GE(fs::file_size(p), empty_size + (std::uintmax_t{3} << 20)) << "the rows are still only in the WAL";
  EXPECT_EQ(s->count({}), 10000);
  s.reset();
  EXPECT_FALSE(fs::exists(fs::path(p.string() + "-wal"))) << "the last connection to close removes the WAL";
  EXPECT_EQ(open_ready(p)->count({}), 10000);
}

// The checkpoint thread guards itself: a pass that throws something that is
// not an inferconf::Error (here a std::runtime_error, as a driver or an
// allocation could) is logged with the file and the exception, and the
// thread stays alive for the next commit's request. Without the guard the
// exception leaves the thread and std::terminate ends the process.
TEST_F(SqliteStoreTest, ACheckpointPassThrowingANonInferconfExceptionIsLoggedAndTheThreadGoesOn) {
  const auto p = dir_.file("guarded.db");
  const sqlite::StoreContext ctx{p, std::chrono::milliseconds(5000)};
  std::atomic<int> passes{0};
  std::atomic<int> completed{0};
  sqlite::Checkpointer checkpointer(ctx, 1, std::int64_t{1} << 40, [&](sqlite3* db, int* frames, int* copied) {
    if (passes.fetch_add(1) == 0) throw std::runtime_error("the disk controller went away");
    const int rc = sqlite::Checkpointer::passive_pass(db, frames, copied);
    completed.fetch_add(1);
    return rc;
  });
  auto wait_for = [](const std::atomic<int>& n, int at_least) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (n.load() < at_least && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return n.load() >= at_least;
  };
  ::testing::internal::CaptureStderr();
  sqlite::Connection writer(ctx, false, &checkpointer);
  writer.db().exec("CREATE TABLE rows(x BLOB)");  // the first commit: the thread starts and its pass throws
  const bool first = wait_for(passes, 1);
  writer.db().exec("INSERT INTO rows VALUES (zeroblob(40000))");  // the next request, served by the same thread
  const bool second = wait_for(completed, 1);
  checkpointer.stop();
  const std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(first) << "the first commit did not wake the checkpoint thread";
  EXPECT_TRUE(second) << "the checkpoint thread did not serve the request after the exception";
  EXPECT_NE(log.find("the WAL checkpointer of " + p.string() + " failed"), std::string::npos) << log;
  EXPECT_NE(log.find("the disk controller went away"), std::string::npos) << log;
  EXPECT_EQ(writer.db().execAndGet("SELECT count(*) FROM rows").getInt(), 1);
}

TEST_F(SqliteStoreTest, AWalCheckpointSizeThatIsNotPositiveIsInvalid) {
  SqliteStoreOptions options;
  options.wal_checkpoint_bytes = 0;
  const Error e = expect_error(ErrorCode::kInvalid, [&] { open_sqlite_store(dir_.file("zero.db"), options); });
  EXPECT_NE(std::string(e.what()).find("wal_checkpoint_bytes is 0"), std::string::npos) << e.what();
  EXPECT_FALSE(fs::exists(dir_.file("zero.db")));
}

TEST_F(SqliteStoreTest, DataPersistsAcrossReopen) {
  const auto p = dir_.file("persist.db");
  InferenceConfiguration c;
  {
    auto s = open_ready(p);
    c = s->create(make_dto("m1"));
    UpdateDTO u;
    u.model_specific_params = nlohmann::json{{"guidance", 3.5}};
    c = s->update(c.id, u, 1);
    s->upsert_models({{"m1", "Model 1", true, "sdxl", {{"k", "v"}}, "/m/1.safetensors"}});
  }
  auto s = open_ready(p);
  EXPECT_EQ(s->get(c.id), c);
  EXPECT_EQ(s->get_model("m1")->file_path, "/m/1.safetensors");
  EXPECT_EQ(s->describe(), "sqlite:" + p.string());
}

TEST_F(SqliteStoreTest, ASecondStoreOnTheSameFileSeesWritesThroughChangesSince) {
  const auto p = dir_.file("two.db");
  auto a = open_ready(p);
  auto b = open_ready(p);
  const auto kept = a->create(make_dto("kept"));
  const auto doomed = a->create(make_dto("doomed"));
  const std::string cursor = b->change_cursor();
  EXPECT_EQ(cursor, a->change_cursor()) << "one file, one cursor";

  UpdateDTO u;
  u.steps = 7;
  const auto updated = a->update(kept.id, u, std::nullopt);
  a->remove(doomed.id, std::nullopt);
  const auto created = a->create(make_dto("new"));

  const ChangeSet changes = b->changes_since(cursor);
  ASSERT_FALSE(changes.reload_required);
  EXPECT_EQ(changes.upserted, (std::vector<InferenceConfiguration>{updated, created}));
  EXPECT_EQ(changes.deleted_ids, std::vector<std::string>{doomed.id});
  EXPECT_EQ(b->get(created.id), created);
  EXPECT_EQ(changes.cursor, a->change_cursor());
}

TEST_F(SqliteStoreTest, ACursorOfAnotherFileRequiresAReload) {
  auto a = open_ready(dir_.file("a.db"));
  auto b = open_ready(dir_.file("b.db"));
  const ChangeSet changes = b->changes_since(a->change_cursor());
  EXPECT_TRUE(changes.reload_required);
  EXPECT_FALSE(b->changes_since(changes.cursor).reload_required);
}

TEST_F(SqliteStoreTest, TheChangeLogStaysBoundedAndOldCursorsRequireAReload) {
  const auto p = dir_.file("pruned.db");
  SqliteStoreOptions options;
  options.change_log_keep = 16;
  auto s = open_ready(p, options);
  const std::string old_cursor = s->change_cursor();
  for (int i = 0; i < 100; ++i) s->create(make_dto("m" + std::to_string(i)));
  const std::string recent = s->change_cursor();
  s->create(make_dto("last"));

  EXPECT_TRUE(s->changes_since(old_cursor).reload_required);
  const ChangeSet recent_changes = s->changes_since(recent);
  EXPECT_FALSE(recent_changes.reload_required);
  EXPECT_EQ(recent_changes.upserted.size(), 1U);

  SQLite::Database db(p, SQLite::OPEN_READONLY);
  EXPECT_LE(db.execAndGet("SELECT count(*) FROM configuration_changes").getInt64(), 16 + 16 / 8 + 1);
}

TEST_F(SqliteStoreTest, AWriterHeldBeyondTheBusyTimeoutIsUnavailableAndWritesNothing) {
  const auto p = dir_.file("busy.db");
  SqliteStoreOptions options;
  options.busy_timeout = std::chrono::milliseconds(100);
  auto s = open_ready(p, options);
  {
    SQLite::Database other(p, SQLite::OPEN_READWRITE);
    other.exec("BEGIN IMMEDIATE");
    const auto start = std::chrono::steady_clock::now();
    const Error e = expect_error(ErrorCode::kUnavailable, [&] { s->create_many({make_dto("a"), make_dto("b")}); });
    EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(90)) << "it waited";
    EXPECT_TRUE(mentions(e, p)) << e.what();
    EXPECT_NE(std::string(e.what()).find("locked"), std::string::npos) << e.what();
    EXPECT_EQ(s->count({}), 0) << "reads still work while another process writes";
    other.exec("ROLLBACK");
  }
  s->create_many({make_dto("a"), make_dto("b")});
  EXPECT_EQ(s->count({}), 2);
}

TEST_F(SqliteStoreTest, ParamsWithInvalidUtf8AreInvalidAndNothingIsWritten) {
  auto s = open_ready(dir_.file("utf8.db"));
  auto dto = make_dto("m1");
  dto.model_specific_params["text_encoder"] = std::string("t5\xff\xfe");
  const Error e = expect_error(ErrorCode::kInvalid, [&] { s->create(dto); });
  EXPECT_NE(std::string(e.what()).find("model_specific_params"), std::string::npos) << e.what();
  expect_error(ErrorCode::kInvalid, [&] { s->create_many({make_dto("m0"), dto}); });
  expect_error(ErrorCode::kInvalid, [&] { s->create_missing({make_dto("m0"), dto}, false); });
  const std::string m0 = "m0", m3 = "m3";
  const auto fine = make_dto("m0");
  expect_error(ErrorCode::kInvalid,
               [&] { s->create_missing_for_models({{&fine, {std::cref(m0)}}, {&dto, {std::cref(m3)}}}, false); });
  EXPECT_EQ(s->count({}), 0);
  const auto good = s->create(make_dto("m2"));
  UpdateDTO u;
  u.model_specific_params = nlohmann::json{{"note", std::string("\xc3")}};
  expect_error(ErrorCode::kInvalid, [&] { s->update(good.id, u, std::nullopt); });
  EXPECT_EQ(s->get(good.id), good);
}

TEST_F(SqliteStoreTest, CursorsWithTheRightPrefixButBrokenContentAreInvalid) {
  auto s = open_ready(dir_.file("cursors.db"));
  s->create_many({make_dto("a"), make_dto("b")});
  for (const char* bad : {"p1.", "p1.zz", "p1.abc", "P1.6162"}) {
    SCOPED_TRACE(bad);
    expect_error(ErrorCode::kInvalid, [&] { s->list({}, 5, std::string_view(bad)); });
  }
  for (const char* bad : {"c1.", "c1.not-a-uuid.5", "c1.11111111-1111-4111-8111-111111111111.",
                          "c1.11111111-1111-4111-8111-111111111111.-1", "c1.11111111-1111-4111-8111-111111111111.9x"}) {
    SCOPED_TRACE(bad);
    expect_error(ErrorCode::kInvalid, [&] { s->changes_since(bad); });
  }
}

}  // namespace
}  // namespace inferconf::testing
