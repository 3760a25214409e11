// Streaming import of a platform's registry export, bad records reported one
// by one (with their line) while the rest is imported.
#include <functional>
#include <istream>
#include <string_view>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "inferconf/error.hpp"
#include "inferconf/populate.hpp"
#include "populate/seen_ids.hpp"

namespace inferconf::populate {
namespace {

// Thrown from inside read_model_records (whose callbacks cannot stop it) when
// the import is cancelled.
struct Stop {};

std::string describe(const Error& e) {
  if (e.field_errors().empty()) return e.what();
  std::vector<std::string> parts;
  for (const auto& f : e.field_errors()) parts.push_back(f.field.empty() ? f.message : f.field + " " + f.message);
  return fmt::format("{}", fmt::join(parts, "; "));
}

}  // namespace

ImportReport import_registry(Store& store, std::istream& in, const RegistryImportOptions& options,
                             const std::function<void(const ImportProblem&)>& on_problem) {
  if (options.batch_size == 0)
    throw invalid("The import batch size is 0; allowed: 1 or more records per transaction.");
  ImportReport report;
  while (in && std::isspace(in.peek())) in.get();
  report.array = in.peek() == '[';
  const char* unit = report.array ? "item" : "line";

  SeenIds seen;
  std::vector<ModelRecord> batch;
  std::size_t batch_last = 0;
  auto flush = [&] {
    if (batch.empty()) return;
    if (!options.dry_run) store.upsert_models(batch);
    report.imported += static_cast<std::int64_t>(batch.size());
    report.last_where = batch_last;
    batch.clear();
  };
  try {
    read_model_records(
        in, options.fields,
        [&](ModelRecord&& m, std::size_t where) {
          const auto first = seen.insert(m.id, where);
          if (first != where) {
            ++report.rejected;
            on_problem({where, fmt::format("{} {}", unit, where),
                        fmt::format("{} \"{}\" repeats the id of {} {}; each model may appear once, the first one was "
                                    "imported.",
                                    options.fields.id, m.id, unit, first),
                        {}});
            return;
          }
          batch.push_back(std::move(m));
          batch_last = where;
          if (batch.size() < options.batch_size) return;
          flush();
          if (options.cancel && options.cancel->load()) throw Stop{};
        },
        [&](std::size_t where, const Error& e) {
          ++report.rejected;
          const bool whole_file = where == kWholeRegistryFile;
          on_problem({whole_file ? 0 : where, whole_file ? std::string("file") : fmt::format("{} {}", unit, where),
                      describe(e), e.field_errors()});
        });
    flush();
  } catch (const Stop&) {
    report.interrupted = true;
  }
  return report;
}

}  // namespace inferconf::populate
