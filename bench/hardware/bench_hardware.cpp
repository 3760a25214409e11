// bench_hardware: what hardware planning costs.
//
// 1. HardwarePlanner::plan_afresh per call, over every base model and
//    variant of the catalogue on every shipped profile at the preset's size
//    (most fit as asked; some are lowered, which tries several sizes):
//    median, p99 and mean µs (target: < 5 µs per resolve); and plan() asked
//    for the same again, answered from the plans the thread keeps.
// 2. The work of POST /v1/resolve for a stored configuration — parse the body,
//    resolve, serialise the answer — with "hardware" in the body against the
//    same bodies without, in alternating rounds of the same run: requests per
//    CPU second and their ratio (target: >= 0.9). The lookup answers from
//    memory, as the server's index does, so the ratio is the planner's share
//    of the request's own work; sockets and HTTP parsing, the same for both,
//    are left out, which makes the ratio stricter than the server's.
//
// Usage: bench_hardware [--plans N] [--requests N] [--rounds N]
#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "inferconf/detect/rules.hpp"
#include "inferconf/hardware_plan.hpp"
#include "inferconf/resolve_request.hpp"
#include "inferconf/service.hpp"
#include "store/latency.hpp"

namespace {

using namespace inferconf;
using namespace inferconf::bench;

struct Options {
  std::size_t plans = 200000;
  std::size_t requests = 100000;
  int rounds = 5;
};

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) {
      fmt::print(stderr, "{} needs a number\n", a);
      std::exit(2);
    }
    const auto n = std::strtoull(argv[++i], nullptr, 10);
    if (a == "--plans") o.plans = n;
    else if (a == "--requests") o.requests = n;
    else if (a == "--rounds") o.rounds = static_cast<int>(n);
    else {
      fmt::print(stderr, "unknown option {}; use --plans N, --requests N, --rounds N\n", a);
      std::exit(2);
    }
  }
  return o;
}

// A stored configuration per model, answered from memory as the server's index answers.
class MemoryLookup : public ResolverLookup {
 public:
  explicit MemoryLookup(std::vector<InferenceConfiguration> docs) : docs_(std::move(docs)) {}
  std::optional<InferenceConfiguration> find_by_model_and_type(std::string_view model_id,
                                                               std::string_view type) const override {
    for (const auto& d : docs_)
      if (d.model_id == model_id && d.configuration_type == type) return d;
    return std::nullopt;
  }
  std::optional<ModelRecord> get_model(std::string_view) const override { return std::nullopt; }
  std::optional<InferenceConfiguration> configuration_at(std::string_view, std::string_view, Timestamp) const override {
    return std::nullopt;
  }

 private:
  std::vector<InferenceConfiguration> docs_;
};

struct PlanCase {
  const BaseModelSpec* spec;
  std::string variant;
  const HardwareProfile* profile;
  Workload workload;
};

std::vector<PlanCase> plan_cases(const Catalog& catalog, const HardwareCatalog& hardware) {
  std::vector<PlanCase> out;
  for (const auto& b : catalog.base_models()) {
    std::vector<std::string> variants = {""};
    for (const auto& v : b.variants) variants.push_back(v.id);
    for (const auto& v : variants) {
      const Preset* preset = b.preset("quality", v);
      if (!preset || !hardware.memory_model(b.id, v)) continue;
      const auto& p = preset->model_specific_params;
      const Workload w{p.value("width", 1024), p.value("height", 1024), p.value("video_frames", 1)};
      for (const auto& profile : hardware.profiles()) out.push_back({&b, v, &profile, w});
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_args(argc, argv);
  const auto dir = Catalog::default_dir();
  const Catalog catalog = Catalog::load(dir);
  const auto rules = detect::load_rules(dir);
  const HardwareCatalog hardware = HardwareCatalog::load(HardwareCatalog::file_in(dir), catalog);
  const HardwarePlanner planner(hardware);

  // 1. The planner alone.
  const auto cases = plan_cases(catalog, hardware);
  std::vector<PlanCase> direct, lowered;
  std::size_t refused = 0;
  for (const auto& c : cases) {
    try {
      (planner.plan(*c.spec, c.variant, *c.profile, c.workload).adjustments.empty() ? direct : lowered).push_back(c);
    } catch (const Error&) {
      ++refused;
    }
  }
  fmt::print("bench_hardware: {} base models/variants x {} profiles = {} plans ({} as asked, {} lowered, {} refused)\n",
             cases.size() / hardware.profiles().size(), hardware.profiles().size(), cases.size(), direct.size(),
             lowered.size(), refused);
  std::size_t sink = 0;
  auto plan_of = [&](const std::vector<PlanCase>& set) {
    return measure_latency(o.plans, [&](std::size_t i) {
      const auto& c = set[i % set.size()];
      sink += planner.plan_afresh(*c.spec, c.variant, *c.profile, c.workload).estimate.dtypes.size();
    });
  };
  const auto as_asked = plan_of(direct);
  print_latency("plan, fits as asked", as_asked);
  if (!lowered.empty()) print_latency("plan, lowered to fit (tries several sizes)", plan_of(lowered));
  std::vector<PlanCase> all = direct;
  all.insert(all.end(), lowered.begin(), lowered.end());
  print_latency("plan, every case that plans", plan_of(all));
  print_latency("plan asked for again (kept by the thread)", measure_latency(o.plans, [&](std::size_t i) {
                  const auto& c = all[i % all.size()];
                  sink += planner.plan(*c.spec, c.variant, *c.profile, c.workload).estimate.dtypes.size();
                }));

  // 2. The resolve request's work, with and without hardware.
  std::vector<InferenceConfiguration> docs;
  std::vector<std::string> plain, planned;
  const std::vector<std::pair<std::string, std::string>> stored = {
      {"sdxl", ""}, {"flux_dev", ""}, {"wan_2_2", "t2v_a14b"}, {"sd_1_5", ""}, {"wan_2_1", "t2v_1_3b"}};
  const char* profiles[] = {"consumer_8gb", "consumer_12gb", "consumer_24gb", "a100_80gb"};
  for (std::size_t i = 0; i < stored.size(); ++i) {
    const auto& [base, variant] = stored[i];
    const Preset* p = catalog.find(base)->preset("quality", variant);
    InferenceConfiguration d;
    d.id = fmt::format("00000000-0000-7000-8000-00000000000{}", i);
    d.model_id = "model-" + base;
    d.base_model = base;
    d.configuration_type = "quality";
    d.steps = p->steps;
    d.cfg_scale = p->cfg_scale;
    d.sampler = p->sampler;
    d.scheduler = p->scheduler;
    d.model_specific_params = p->model_specific_params;
    if (!variant.empty()) d.model_specific_params["variant"] = variant;
    d.revision = 1;
    docs.push_back(d);
    for (const char* profile : profiles) {
      const nlohmann::json body = {{"model_id", d.model_id}, {"configuration_type", "quality"}};
      plain.push_back(body.dump());
      nlohmann::json with = body;
      with["hardware"] = profile;
      planned.push_back(with.dump());
    }
  }
  const MemoryLookup lookup(docs);
  const Resolver resolver(lookup, catalog, *rules, &hardware);
  auto serve = [&](const std::vector<std::string>& bodies) {
    return time_of([&] {
      for (std::size_t i = 0; i < o.requests; ++i) {
        const auto req = parse_resolve_request(parse_json_text(bodies[i % bodies.size()], "the body"));
        const nlohmann::json answer = resolver.resolve(req);
        sink += answer.dump().size();
      }
    });
  };
  serve(plain);  // warm-up
  serve(planned);
  double plain_cpu = 0, planned_cpu = 0;
  for (int r = 0; r < o.rounds; ++r) {
    plain_cpu += serve(plain).cpu_s;
    planned_cpu += serve(planned).cpu_s;
  }
  const double total = static_cast<double>(o.requests) * o.rounds;
  const double plain_rps = total / plain_cpu, planned_rps = total / planned_cpu;
  fmt::print("  resolve request (parse, resolve, serialise), {} x {} requests over {} stored configurations:\n",
             o.rounds, o.requests, docs.size());
  fmt::print("    without hardware   {:10.0f} requests per CPU second ({:.2f} µs each)\n", plain_rps, 1e6 / plain_rps);
  fmt::print("    with hardware      {:10.0f} requests per CPU second ({:.2f} µs each)\n", planned_rps, 1e6 / planned_rps);
  fmt::print("    ratio              {:.2f}x (target >= 0.90)\n", planned_rps / plain_rps);

  // Where the difference goes: resolving alone, and serialising the answer alone.
  std::vector<ResolveRequest> plain_requests, planned_requests;
  for (const auto& b : plain) plain_requests.push_back(parse_resolve_request(parse_json_text(b, "the body")));
  for (const auto& b : planned) planned_requests.push_back(parse_resolve_request(parse_json_text(b, "the body")));
  auto resolve_only = [&](const std::vector<ResolveRequest>& requests) {
    return measure_latency(o.requests, [&](std::size_t i) {
      sink += resolver.resolve(requests[i % requests.size()]).parameters.size();
    });
  };
  std::vector<ResolvedParameters> plain_answers, planned_answers;
  for (const auto& r : plain_requests) plain_answers.push_back(resolver.resolve(r));
  for (const auto& r : planned_requests) planned_answers.push_back(resolver.resolve(r));
  auto serialise_only = [&](const std::vector<ResolvedParameters>& answers) {
    return measure_latency(o.requests, [&](std::size_t i) {
      const nlohmann::json j = answers[i % answers.size()];
      sink += j.dump().size();
    });
  };
  const auto resolve_plain = resolve_only(plain_requests);
  print_latency("resolve only, without hardware", resolve_plain);
  print_latency("resolve only, with hardware", resolve_only(planned_requests), &resolve_plain);
  const auto serialise_plain = serialise_only(plain_answers);
  print_latency("serialise only, without hardware", serialise_plain);
  print_latency("serialise only, with hardware", serialise_only(planned_answers), &serialise_plain);
  return sink == 0 ? 1 : 0;
}
