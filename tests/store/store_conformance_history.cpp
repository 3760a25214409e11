// Conformance: change history. Every write leaves one revision with the whole
// document after it, who and why; history reads newest first; rollback,
// restore and prune keep the guarantees of store.hpp.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <latch>
#include <thread>

#include "store/store_conformance.hpp"
#include "store/store_test_support.hpp"

namespace inferconf::testing {
namespace {

using std::chrono::milliseconds;

WriteContext by(std::string actor, std::optional<std::string> reason = std::nullopt) {
  return WriteContext{std::move(actor), std::move(reason)};
}

std::vector<Revision> all_revisions(Store& store, std::string_view id, std::size_t page_size = 1000) {
  std::vector<Revision> out;
  std::optional<std::string> cursor;
  do {
    auto page = store.revisions(id, page_size, cursor ? std::optional<std::string_view>(*cursor) : std::nullopt);
    out.insert(out.end(), page.items.begin(), page.items.end());
    cursor = page.next_cursor;
  } while (cursor);
  return out;
}

std::vector<std::int64_t> numbers(const std::vector<Revision>& revisions) {
  std::vector<std::int64_t> out;
  for (const auto& r : revisions) out.push_back(r.revision);
  return out;
}

UpdateDTO steps_to(int steps) {
  UpdateDTO u;
  u.steps = steps;
  return u;
}

AuditQuery where(const std::function<void(AuditQuery&)>& set) {
  AuditQuery q;
  set(q);
  return q;
}

PruneRule keeping(std::optional<std::int64_t> keep, std::optional<Timestamp> older_than = std::nullopt) {
  PruneRule rule;
  rule.keep = keep;
  rule.older_than = older_than;
  return rule;
}

void tick() { std::this_thread::sleep_for(milliseconds(3)); }

}  // namespace

TEST_P(StoreConformance, EveryWriteRecordsItsRevisionWithDocumentActorAndReason) {
  const auto created = store().create(make_dto("m1"), by("alice", "first preset"));
  tick();
  const auto updated = store().update(created.id, steps_to(42), std::nullopt, by("bob"));
  tick();
  store().remove(created.id, std::nullopt, by("carol", "model retired"));

  const auto history = all_revisions(store(), created.id);
  ASSERT_EQ(numbers(history), (std::vector<std::int64_t>{3, 2, 1}));
  EXPECT_EQ(history[2].operation, RevisionOperation::kCreate);
  EXPECT_EQ(history[2].actor, "alice");
  EXPECT_EQ(history[2].reason, std::optional<std::string>("first preset"));
  EXPECT_EQ(history[2].document, created);
  EXPECT_EQ(history[2].at, created.created_at);

  EXPECT_EQ(history[1].operation, RevisionOperation::kUpdate);
  EXPECT_EQ(history[1].actor, "bob");
  EXPECT_EQ(history[1].reason, std::nullopt);
  EXPECT_EQ(history[1].document, updated);

  EXPECT_TRUE(history[0].is_tombstone());
  EXPECT_EQ(history[0].actor, "carol");
  EXPECT_EQ(history[0].reason, std::optional<std::string>("model retired"));
  InferenceConfiguration kept = updated;
  kept.revision = 3;
  EXPECT_EQ(history[0].document, kept) << "the tombstone keeps the deleted document for restore";
  EXPECT_GE(history[0].at, history[1].at);
  EXPECT_GT(history[0].sequence, history[1].sequence);
  EXPECT_GT(history[1].sequence, history[2].sequence);
}

TEST_P(StoreConformance, AnEmptyActorIsRecordedAsUnknown) {
  const auto c = store().create(make_dto("m1"));
  const auto history = all_revisions(store(), c.id);
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].actor, "unknown");
}

TEST_P(StoreConformance, BatchCreatesAndOverwritesRecordOneRevisionPerConfiguration) {
  const auto many = store().create_many({make_dto("a"), make_dto("b", "speed")}, by("importer"));
  for (const auto& c : many) {
    const auto history = all_revisions(store(), c.id);
    ASSERT_EQ(history.size(), 1u) << c.id;
    EXPECT_EQ(history[0].document, c);
    EXPECT_EQ(history[0].actor, "importer");
  }

  const CreateDTO preset = make_dto("ignored");
  const std::string m1 = "pop-1", m2 = "pop-2";
  const auto created = store().create_missing_for_models({{&preset, {std::cref(m1), std::cref(m2)}}}, false,
                                                         by("populate"));
  EXPECT_EQ(created, (std::vector<bool>{true, true}));
  const auto pop1 = store().find_by_model_and_type(m1, "quality");
  ASSERT_TRUE(pop1);
  auto history = all_revisions(store(), pop1->id);
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].operation, RevisionOperation::kCreate);
  EXPECT_EQ(history[0].actor, "populate");
  EXPECT_EQ(history[0].document, *pop1);

  CreateDTO changed = make_dto(m1, "quality", "sdxl", 44);
  store().create_missing({changed}, true, by("populate", "overwrite"));
  history = all_revisions(store(), pop1->id);
  ASSERT_EQ(numbers(history), (std::vector<std::int64_t>{2, 1}));
  EXPECT_EQ(history[0].operation, RevisionOperation::kUpdate);
  EXPECT_EQ(history[0].document.steps, 44);
  EXPECT_EQ(history[0].document, *store().get(pop1->id));
}

TEST_P(StoreConformance, AFailedWriteRecordsNoRevision) {
  const auto a = store().create(make_dto("m1", "quality"));
  const auto b = store().create(make_dto("m1", "speed"));
  UpdateDTO clash;
  clash.configuration_type = "quality";
  EXPECT_THROW(store().update(b.id, clash, std::nullopt, by("x")), Error);
  EXPECT_THROW(store().update(a.id, steps_to(9), 7, by("x")), Error);
  EXPECT_THROW(store().create(make_dto("m1", "quality"), by("x")), Error);
  EXPECT_EQ(all_revisions(store(), a.id).size(), 1u);
  EXPECT_EQ(all_revisions(store(), b.id).size(), 1u);
  EXPECT_TRUE(store().audit(where([&](AuditQuery& q) { q.actor = "x"; }), 10, std::nullopt).items.empty());
}

TEST_P(StoreConformance, HistoryPagesNewestFirstWithoutGapsOrRepeats) {
  const auto c = store().create(make_dto("m1"));
  for (int i = 0; i < 24; ++i) store().update(c.id, steps_to(10 + i), std::nullopt, by("loop"));
  const auto history = all_revisions(store(), c.id, 7);
  std::vector<std::int64_t> expected;
  for (std::int64_t r = 25; r >= 1; --r) expected.push_back(r);
  EXPECT_EQ(numbers(history), expected);
  const auto first = store().revisions(c.id, 7, std::nullopt);
  EXPECT_EQ(first.items.size(), 7u);
  ASSERT_TRUE(first.next_cursor);
  EXPECT_TRUE(store().revisions("no-such-id", 10, std::nullopt).items.empty());
  EXPECT_THROW(store().revisions(c.id, 0, std::nullopt), Error);
  EXPECT_THROW(store().revisions(c.id, 10, std::string_view("not-a-cursor")), Error);
}

TEST_P(StoreConformance, GetRevisionAndHistoryByModelAndType) {
  const auto c = store().create(make_dto("m1"));
  store().update(c.id, steps_to(33), std::nullopt, by("bob"));
  store().remove(c.id, std::nullopt, by("bob"));
  const auto again = store().create(make_dto("m1"), by("alice"));

  const auto one = store().get_revision(c.id, 2);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->document.steps, 33);
  EXPECT_FALSE(store().get_revision(c.id, 9));
  EXPECT_FALSE(store().get_revision("no-such-id", 1));

  const auto page = store().revisions_of_model("m1", "quality", 100, std::nullopt);
  ASSERT_EQ(page.items.size(), 4u) << "both configurations that held the pair";
  EXPECT_EQ(page.items[0].configuration_id, again.id);
  EXPECT_EQ(page.items[1].configuration_id, c.id);
  EXPECT_TRUE(page.items[1].is_tombstone());
  EXPECT_TRUE(store().revisions_of_model("m1", "speed", 100, std::nullopt).items.empty());
}

TEST_P(StoreConformance, RollbackWritesTheOldDocumentAsANewRevision) {
  const auto c = store().create(make_dto("m1", "quality", "sdxl", 30));
  tick();
  store().update(c.id, steps_to(12), std::nullopt, by("bob"));
  tick();
  const auto rolled = store().rollback(c.id, 1, 2, by("ops", "steps 12 looked worse"));
  EXPECT_EQ(rolled.revision, 3);
  EXPECT_EQ(rolled.steps, 30);
  EXPECT_EQ(rolled.created_at, c.created_at);
  EXPECT_GT(rolled.updated_at, c.updated_at);
  EXPECT_EQ(to_create_dto(rolled), to_create_dto(c));
  EXPECT_EQ(*store().get(c.id), rolled);
  const auto history = all_revisions(store(), c.id);
  ASSERT_EQ(numbers(history), (std::vector<std::int64_t>{3, 2, 1}));
  EXPECT_EQ(history[0].operation, RevisionOperation::kRollback);
  EXPECT_EQ(history[0].actor, "ops");
  EXPECT_EQ(history[0].document, rolled);
}

TEST_P(StoreConformance, RollbackRefusesStaleUnknownAndDeletedWithNothingWritten) {
  const auto c = store().create(make_dto("m1"));
  store().update(c.id, steps_to(12), std::nullopt, by("bob"));
  try {
    store().rollback(c.id, 1, 1, by("ops"));
    FAIL() << "a stale expected revision must be refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConflict);
    EXPECT_TRUE(e.is_revision_mismatch());
  }
  try {
    store().rollback(c.id, 7, std::nullopt, by("ops"));
    FAIL() << "an unknown revision must be refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
  EXPECT_EQ(all_revisions(store(), c.id).size(), 2u);
  EXPECT_EQ(store().get(c.id)->revision, 2);
  store().remove(c.id, std::nullopt, by("bob"));
  try {
    store().rollback(c.id, 1, std::nullopt, by("ops"));
    FAIL() << "a deleted configuration must be restored first";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
}

TEST_P(StoreConformance, TwoRollbacksWithTheSameExpectedRevisionOneWins) {
  const auto c = store().create(make_dto("m1"));
  store().update(c.id, steps_to(12), std::nullopt, by("bob"));
  std::atomic<int> won{0}, mismatched{0};
  std::latch start(2);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      try {
        store().rollback(c.id, 1, 2, by("client-" + std::to_string(i)));
        ++won;
      } catch (const Error& e) {
        if (e.is_revision_mismatch()) ++mismatched;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(mismatched.load(), 1);
  EXPECT_EQ(numbers(all_revisions(store(), c.id)), (std::vector<std::int64_t>{3, 2, 1}));
}

TEST_P(StoreConformance, RestoreBringsBackADeletedConfigurationUnderItsId) {
  const auto c = store().create(make_dto("m1"));
  store().update(c.id, steps_to(21), std::nullopt, by("bob"));
  try {
    store().restore(c.id, std::nullopt, by("ops"));
    FAIL() << "a live configuration is not restorable";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConflict);
  }
  store().remove(c.id, std::nullopt, by("bob"));
  try {
    store().restore(c.id, 2, by("ops"));
    FAIL() << "the expected revision is the tombstone's";
  } catch (const Error& e) {
    EXPECT_TRUE(e.is_revision_mismatch());
  }
  const auto restored = store().restore(c.id, 3, by("ops", "deleted by mistake"));
  EXPECT_EQ(restored.id, c.id);
  EXPECT_EQ(restored.revision, 4);
  EXPECT_EQ(restored.steps, 21);
  EXPECT_EQ(restored.created_at, c.created_at);
  EXPECT_EQ(*store().get(c.id), restored);
  EXPECT_EQ(store().find_by_model_and_type("m1", "quality")->id, c.id);
  const auto history = all_revisions(store(), c.id);
  ASSERT_EQ(numbers(history), (std::vector<std::int64_t>{4, 3, 2, 1}));
  EXPECT_EQ(history[0].operation, RevisionOperation::kRestore);
  EXPECT_EQ(history[0].document, restored);
  try {
    store().restore("no-such-id", std::nullopt, by("ops"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
}

TEST_P(StoreConformance, RestoreRefusesWhenThePairWasTakenSince) {
  const auto c = store().create(make_dto("m1"));
  store().remove(c.id, std::nullopt, by("bob"));
  const auto newer = store().create(make_dto("m1"), by("alice"));
  try {
    store().restore(c.id, std::nullopt, by("ops"));
    FAIL() << "(model_id, configuration_type) belongs to another configuration now";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConflict);
    EXPECT_EQ(e.existing_id(), newer.id);
  }
  EXPECT_FALSE(store().get(c.id));
  EXPECT_EQ(all_revisions(store(), c.id).size(), 2u);
}

TEST_P(StoreConformance, AuditFiltersByActorTimeModelBaseModelAndOperation) {
  const auto a = store().create(make_dto("m1"), by("alice"));
  const auto b = store().create(make_dto("m2", "quality", "flux_dev"), by("bob"));
  tick();
  const Timestamp middle = now_utc();
  tick();
  store().update(a.id, steps_to(11), std::nullopt, by("ops"));
  store().remove(b.id, std::nullopt, by("ops"));

  const auto everything = store().audit({}, 100, std::nullopt);
  ASSERT_EQ(everything.items.size(), 4u);
  EXPECT_TRUE(everything.items[0].is_tombstone()) << "newest first";
  const auto ops = store().audit(where([&](AuditQuery& q) { q.actor = "ops"; }), 100, std::nullopt);
  EXPECT_EQ(ops.items.size(), 2u);
  EXPECT_EQ(store().audit(where([&](AuditQuery& q) { q.since = middle; }), 100, std::nullopt).items.size(), 2u);
  EXPECT_EQ(store().audit(where([&](AuditQuery& q) { q.until = middle; }), 100, std::nullopt).items.size(), 2u);
  EXPECT_EQ(store().audit(where([&](AuditQuery& q) { q.model_id = "m1"; }), 100, std::nullopt).items.size(), 2u);
  EXPECT_EQ(store().audit(where([&](AuditQuery& q) { q.base_model = "flux_dev"; }), 100, std::nullopt).items.size(), 2u);
  const auto deletes = store().audit(where([&](AuditQuery& q) { q.operation = RevisionOperation::kDelete; }), 100, std::nullopt);
  ASSERT_EQ(deletes.items.size(), 1u);
  EXPECT_EQ(deletes.items[0].configuration_id, b.id);
  const auto combined =
      store().audit(where([&](AuditQuery& q) { q.actor = "ops"; q.model_id = "m1"; q.operation = RevisionOperation::kUpdate; }), 100,
                    std::nullopt);
  ASSERT_EQ(combined.items.size(), 1u);
  EXPECT_EQ(combined.items[0].document.steps, 11);

  const auto first = store().audit({}, 3, std::nullopt);
  ASSERT_EQ(first.items.size(), 3u);
  ASSERT_TRUE(first.next_cursor);
  const auto rest = store().audit({}, 3, *first.next_cursor);
  ASSERT_EQ(rest.items.size(), 1u);
  EXPECT_FALSE(rest.next_cursor);
  EXPECT_EQ(rest.items[0].configuration_id, a.id);
  EXPECT_EQ(rest.items[0].operation, RevisionOperation::kCreate);
}

TEST_P(StoreConformance, RevisionAsOfIsTheRevisionCurrentThen) {
  const Timestamp before_all = now_utc() - milliseconds(1000);
  const auto c = store().create(make_dto("m1", "quality", "sdxl", 30));
  tick();
  const Timestamp first = now_utc();
  tick();
  store().update(c.id, steps_to(12), std::nullopt, by("bob"));
  tick();
  const Timestamp second = now_utc();
  tick();
  store().remove(c.id, std::nullopt, by("bob"));

  EXPECT_FALSE(store().revision_as_of("m1", "quality", before_all));
  auto then = store().revision_as_of("m1", "quality", first);
  ASSERT_TRUE(then);
  EXPECT_EQ(then->revision, 1);
  EXPECT_EQ(then->document.steps, 30);
  then = store().revision_as_of("m1", "quality", second);
  ASSERT_TRUE(then);
  EXPECT_EQ(then->document.steps, 12);
  then = store().revision_as_of("m1", "quality", now_utc());
  ASSERT_TRUE(then);
  EXPECT_TRUE(then->is_tombstone());
  EXPECT_FALSE(store().revision_as_of("m1", "speed", now_utc()));
}

TEST_P(StoreConformance, PruneNeverRemovesTheCurrentRevisionNorTheLastDeleteAndIsAudited) {
  const auto live = store().create(make_dto("live"));
  for (int i = 0; i < 5; ++i) store().update(live.id, steps_to(10 + i), std::nullopt, by("bob"));
  const auto gone = store().create(make_dto("gone"));
  store().update(gone.id, steps_to(9), std::nullopt, by("bob"));
  store().remove(gone.id, std::nullopt, by("bob"));
  const auto back = store().create(make_dto("back"));
  store().remove(back.id, std::nullopt, by("bob"));
  store().restore(back.id, std::nullopt, by("ops"));
  store().update(back.id, steps_to(8), std::nullopt, by("bob"));

  EXPECT_THROW(store().prune_history(keeping(0), by("ops")), Error);
  EXPECT_THROW(store().prune_history(keeping(std::nullopt), by("ops")), Error);

  const auto result = store().prune_history(keeping(1), by("ops", "disk"));
  // live: 6 -> 1; gone: 3 -> 1 (the tombstone); back: 4 -> 2 (current + its delete).
  EXPECT_EQ(result.removed, 5 + 2 + 2);
  EXPECT_EQ(numbers(all_revisions(store(), live.id)), (std::vector<std::int64_t>{6}));
  EXPECT_EQ(numbers(all_revisions(store(), gone.id)), (std::vector<std::int64_t>{3}));
  EXPECT_EQ(numbers(all_revisions(store(), back.id)), (std::vector<std::int64_t>{4, 2}));
  EXPECT_EQ(all_revisions(store(), live.id)[0].document, *store().get(live.id));
  EXPECT_EQ(store().restore(gone.id, std::nullopt, by("ops")).steps, 9) << "a pruned history still restores";

  const auto prunes = store().audit(where([&](AuditQuery& q) { q.operation = RevisionOperation::kPrune; }), 10, std::nullopt);
  ASSERT_EQ(prunes.items.size(), 1u);
  EXPECT_EQ(prunes.items[0].actor, "ops");
  EXPECT_EQ(prunes.items[0].reason, std::optional<std::string>("disk"));
  EXPECT_EQ(prunes.items[0].document.model_specific_params.value("removed", -1), 9);
  EXPECT_EQ(prunes.items[0], result.record);

  store().update(live.id, steps_to(30), std::nullopt, by("bob"));
  store().update(live.id, steps_to(31), std::nullopt, by("bob"));
  EXPECT_EQ(store().prune_history(keeping(std::nullopt, now_utc() + milliseconds(1000)), by("ops")).removed, 2)
      << "older-than keeps the newest of each and the last delete: only live's revisions 6 and 7 go";
  EXPECT_EQ(numbers(all_revisions(store(), live.id)), (std::vector<std::int64_t>{8}));
  EXPECT_EQ(numbers(all_revisions(store(), gone.id)), (std::vector<std::int64_t>{4, 3}));
  EXPECT_EQ(store().audit(where([&](AuditQuery& q) { q.operation = RevisionOperation::kPrune; }), 10, std::nullopt).items.size(), 2u)
      << "prune records are never pruned";
}

}  // namespace inferconf::testing
