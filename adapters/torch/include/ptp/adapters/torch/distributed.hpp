// ptp/adapters/torch/distributed.hpp — data-parallel training under torchrun (c10d).
//
// N ranks of an unchanged program train one model: each takes its contiguous share of every
// batch (DistributedSampler's coverage: no example dropped or repeated), runs the regularized
// step on it, and the gradients are all-reduced in flat buckets weighted by each rank's share
// n_r/N, so the update equals the one of a single process on the joined batch. Noise is keyed
// by row (backend.hpp: keyed_noise), not by rank, so the perturbations agree too.
//
// Set-up reads torchrun's environment: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
// MASTER_PORT, and TORCHELASTIC_USE_AGENT_STORE=True (the agent hosts the TCPStore: every
// rank is a client, under /worker/attempt_<TORCHELASTIC_RESTART_COUNT>, as torch's own env://
// rendezvous does). Gloo carries CPU tensors, NCCL CUDA ones (where LibTorch was built with it).
// Every collective times out after PTP_COLLECTIVE_TIMEOUT seconds (default 60): a lost rank
// ends the others with an error naming it, from the arrival keys each rank sets in the store
// before each collective.
//
//   auto g = ptp::torch::distributed::group::from_env(at::kCPU);   // null without torchrun
//   if (g) g->broadcast(params);                                  // rank 0's initial values
//   const auto [begin, end] = ptp::torch::distributed::share_of(batch_size, g->rank(), g->size());
//   ... step on rows [begin, end), then in step_guard::synchronize:
//   g->all_reduce_gradients(params, double(end - begin) / batch_size, extras);
#pragma once

#include <torch/torch.h>

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#else
#error "ptp/adapters/torch/distributed.hpp needs USE_C10D_GLOO (set by ptp::torch when Gloo's headers are found)"
#endif
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ptp::torch::distributed {

/// A rank lost during a collective (killed, hung past the timeout, or its store gone).
class lost_rank_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// torchrun's variables for this process.
struct environment {
  int rank = 0, world_size = 1, local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  bool agent_store = false;  ///< TORCHELASTIC_USE_AGENT_STORE=True: connect to the agent's store
  int restart_count = 0;     ///< TORCHELASTIC_RESTART_COUNT: which attempt this is

  /// From the process environment; nullopt when WORLD_SIZE is unset (not under torchrun).
  /// A malformed or inconsistent variable is an error naming it.
  static std::optional<environment> from_env() {
    const char* ws = std::getenv("WORLD_SIZE");
    if (!ws) return std::nullopt;
    environment e;
    e.world_size = integer("WORLD_SIZE", ws);
    e.rank = integer("RANK", required("RANK"));
    e.local_rank = std::getenv("LOCAL_RANK") ? integer("LOCAL_RANK", std::getenv("LOCAL_RANK")) : e.rank;
    e.master_addr = required("MASTER_ADDR");
    e.master_port = integer("MASTER_PORT", required("MASTER_PORT"));
    if (const char* a = std::getenv("TORCHELASTIC_USE_AGENT_STORE")) e.agent_store = std::string(a) == "True" || std::string(a) == "1";
    if (const char* r = std::getenv("TORCHELASTIC_RESTART_COUNT")) e.restart_count = integer("TORCHELASTIC_RESTART_COUNT", r);
    if (e.world_size < 1) throw std::invalid_argument("WORLD_SIZE=" + std::string(ws) + ": must be at least 1");
    if (e.rank < 0 || e.rank >= e.world_size)
      throw std::invalid_argument("RANK=" + std::to_string(e.rank) + " outside [0, WORLD_SIZE=" + std::to_string(e.world_size) + ")");
    if (e.master_port < 1 || e.master_port > 65535) throw std::invalid_argument("MASTER_PORT=" + std::to_string(e.master_port) + ": not a port");
    return e;
  }

 private:
  static const char* required(const char* name) {
    const char* v = std::getenv(name);
    if (!v || !*v) throw std::invalid_argument(std::string(name) + " is not set (WORLD_SIZE is: torchrun sets both)");
    return v;
  }
  static int integer(const char* name, const char* v) {
    try {
      std::size_t used = 0;
      const int x = std::stoi(v, &used);
      if (used == std::string(v).size()) return x;
    } catch (const std::exception&) {
    }
    throw std::invalid_argument(std::string(name) + "='" + v + "' is not an integer");
  }
};

/// The collective timeout: PTP_COLLECTIVE_TIMEOUT seconds (> 0), default 60.
inline std::chrono::milliseconds collective_timeout() {
  const char* v = std::getenv("PTP_COLLECTIVE_TIMEOUT");
  if (!v) return std::chrono::seconds(60);
  char* end = nullptr;
  const double s = std::strtod(v, &end);
  if (end == v || *end || !(s > 0)) throw std::invalid_argument(std::string("PTP_COLLECTIVE_TIMEOUT='") + v + "': seconds > 0 expected");
  return std::chrono::milliseconds(static_cast<std::int64_t>(s * 1000));
}

/// Rank r's contiguous share [begin, end) of n items over `world` ranks: the first n mod world
/// ranks take one more, so the shares cover every item once (DistributedSampler without its
/// padding, which would repeat examples).
struct share {
  std::int64_t begin = 0, end = 0;
  [[nodiscard]] std::int64_t size() const { return end - begin; }
};
inline share share_of(std::int64_t n, int rank, int world) {
  const std::int64_t q = n / world, r = n % world, k = rank;
  const std::int64_t begin = k * q + std::min(k, r);
  return {begin, begin + q + (k < r ? 1 : 0)};
}

/// What the collectives cost so far (rank-local): bytes all-reduced, seconds waited, calls.
struct traffic {
  std::int64_t bytes = 0, collectives = 0;
  std::int64_t gradient_reductions = 0, gradient_bytes = 0;  ///< the steps' all-reduces alone
  double seconds = 0;
  double gradient_seconds = 0;  ///< in all_reduce_gradients, flattening and copying back included
};

/// One process group (this rank's view): the store, the Gloo or NCCL backend, the timeout.
class group {
 public:
  /// Bucket size for the gradient all-reduce (flattened), as DDP's default bucket_cap_mb-ish.
  static constexpr std::int64_t bucket_bytes = 4 << 20;

  group(const environment& env, at::Device device) : env_(env), device_(device), timeout_(collective_timeout()) {
    c10d::TCPStoreOptions o;
    o.port = static_cast<std::uint16_t>(env.master_port);
    o.isServer = !env.agent_store && env.rank == 0;
    o.numWorkers = env.world_size;
    o.waitWorkers = false;
    o.timeout = timeout_;
    try {
      auto tcp = c10::make_intrusive<c10d::TCPStore>(env.master_addr, o);
      store_ = env.agent_store ? c10::intrusive_ptr<c10d::Store>(c10::make_intrusive<c10d::PrefixStore>(
                                     "/worker/attempt_" + std::to_string(env.restart_count), tcp))
                               : c10::intrusive_ptr<c10d::Store>(tcp);
      store_ = c10::make_intrusive<c10d::PrefixStore>("ptp", store_);
      if (device.is_cuda()) {
#ifdef USE_C10D_NCCL
        auto opts = c10d::ProcessGroupNCCL::Options::create();
        opts->timeout = timeout_;
        backend_ = c10::make_intrusive<c10d::ProcessGroupNCCL>(store_, env.rank, env.world_size, opts);
#else
        throw std::runtime_error("--device cuda under torchrun: this build has no NCCL (USE_C10D_NCCL); ptp's data parallelism "
                                 "carries CUDA tensors over NCCL only");
#endif
      } else {
        auto opts = c10d::ProcessGroupGloo::Options::create(timeout_);
        opts->devices.push_back(gloo_device());
        opts->threads = 1;  // one collective at a time; the ranks' compute threads stay theirs
        backend_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store_, env.rank, env.world_size, opts);
      }
    } catch (const c10::Error& e) {
      throw std::runtime_error("ptp::torch::distributed: rank " + std::to_string(env.rank) + " of " + std::to_string(env.world_size) +
                               " could not join the group at " + env.master_addr + ":" + std::to_string(env.master_port) + ": " +
                               e.what_without_backtrace());
    }
  }
  group(const group&) = delete;
  group& operator=(const group&) = delete;

  /// The group torchrun's variables describe, or null when they are absent.
  static std::unique_ptr<group> from_env(at::Device device) {
    auto env = environment::from_env();
    return env ? std::make_unique<group>(*env, device) : nullptr;
  }

  [[nodiscard]] int rank() const { return env_.rank; }
  [[nodiscard]] int size() const { return env_.world_size; }
  [[nodiscard]] bool root() const { return env_.rank == 0; }
  [[nodiscard]] const environment& env() const { return env_; }
  [[nodiscard]] const traffic& stats() const { return stats_; }
  void reset_stats() { stats_ = {}; }

  /// Rank 0's values of `tensors` everywhere (in place), in flat buckets per dtype.
  void broadcast(const std::vector<at::Tensor>& tensors) {
    ::torch::NoGradGuard ng;
    for_buckets(tensors, [&](std::vector<at::Tensor>& part) {
      auto flat = at::cat(flatten(part)).to(device_);
      std::vector<at::Tensor> v{flat};
      c10d::BroadcastOptions o;
      o.rootRank = 0;
      o.timeout = timeout_;
      run("broadcast", backend_->broadcast(v, o), flat.numel() * flat.element_size());
      unflatten(flat, part);
    });
  }

  /// Replaces each parameter's gradient by Σ_r w_r·g_r (w_r = this rank's `weight`, its share
  /// n_r/N of the batch), in flat buckets of at most bucket_bytes; a gradient undefined here
  /// counts as zero, and stays undefined only where it is undefined on every rank (as the
  /// optimizer would then skip it on one process). `extras` (e.g. weight·loss, a fault flag)
  /// ride in the last bucket and come back summed over ranks.
  void all_reduce_gradients(const std::vector<at::Tensor>& params, double weight, std::span<double> extras = {}) {
    ::torch::NoGradGuard ng;
    const auto t0 = std::chrono::steady_clock::now();
    ++stats_.gradient_reductions;
    std::vector<at::Tensor> grads;
    std::vector<float> defined;
    for (const auto& p : params) {
      defined.push_back(p.grad().defined() ? 1.0f : 0.0f);
      grads.push_back(p.grad().defined() ? p.grad().detach() * weight : at::zeros_like(p, p.options().requires_grad(false)));
    }
    // the flags and extras as one float tail, appended to the last bucket
    std::vector<float> tail(defined);
    for (double x : extras) tail.push_back(static_cast<float>(x));
    std::size_t buckets = 0, total = 0;
    for_buckets(grads, [&](std::vector<at::Tensor>&) { ++total; });
    for_buckets(grads, [&](std::vector<at::Tensor>& part) {
      auto pieces = flatten(part);
      const bool last = ++buckets == total;
      if (last) pieces.push_back(at::tensor(tail, at::kFloat).to(pieces.front().device(), pieces.front().scalar_type()));
      auto flat = at::cat(pieces).to(device_);
      std::vector<at::Tensor> v{flat};
      c10d::AllreduceOptions o;
      o.reduceOp = c10d::ReduceOp::SUM;
      o.timeout = timeout_;
      run("gradient all-reduce", backend_->allreduce(v, o), flat.numel() * flat.element_size());
      stats_.gradient_bytes += flat.numel() * flat.element_size();
      if (last) {
        const auto t = flat.narrow(0, flat.numel() - static_cast<std::int64_t>(tail.size()), static_cast<std::int64_t>(tail.size()))
                           .to(at::kCPU, at::kDouble)
                           .contiguous();
        for (std::size_t i = 0; i < tail.size(); ++i) tail[i] = static_cast<float>(t.data_ptr<double>()[i]);
        for (std::size_t i = 0; i < extras.size(); ++i) extras[i] = t.data_ptr<double>()[defined.size() + i];
        flat = flat.narrow(0, 0, flat.numel() - static_cast<std::int64_t>(tail.size()));
      }
      unflatten(flat, part);
    });
    for (std::size_t i = 0; i < params.size(); ++i) {
      auto& g = const_cast<at::Tensor&>(params[i]).mutable_grad();
      if (tail[i] == 0.0f) g = at::Tensor();
      else if (g.defined()) g.copy_(grads[i]);
      else g = grads[i].to(params[i].scalar_type());
    }
    stats_.gradient_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  /// Element-wise sums over ranks of `v` (double; evaluation counts and predictions).
  void all_reduce_sum(std::vector<double>& v) {
    if (v.empty()) return;
    auto t = at::tensor(v, at::kDouble).to(device_);
    std::vector<at::Tensor> x{t};
    c10d::AllreduceOptions o;
    o.timeout = timeout_;
    run("all-reduce", backend_->allreduce(x, o), t.numel() * t.element_size());
    auto h = t.to(at::kCPU).contiguous();
    std::copy_n(h.data_ptr<double>(), v.size(), v.begin());
  }

  /// Rank 0's value of x everywhere.
  double broadcast_value(double x) {
    std::vector<double> v{root() ? x : 0.0};
    all_reduce_sum(v);
    return v[0];
  }

 private:
  static std::shared_ptr<::gloo::transport::Device> gloo_device() {
    if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME")) return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
    return c10d::ProcessGroupGloo::createDefaultDevice();
  }

  static std::vector<at::Tensor> flatten(const std::vector<at::Tensor>& part) {
    std::vector<at::Tensor> v;
    for (const auto& t : part) v.push_back(t.detach().reshape({-1}));
    return v;
  }
  static void unflatten(const at::Tensor& flat, std::vector<at::Tensor>& part) {
    std::int64_t at = 0;
    for (auto& t : part) {
      t.copy_(flat.narrow(0, at, t.numel()).view(t.sizes()));
      at += t.numel();
    }
  }

  // Calls f on consecutive runs of tensors of one dtype and at most bucket_bytes (a larger
  // tensor forms a bucket alone); f may write into them.
  template <class F>
  static void for_buckets(const std::vector<at::Tensor>& ts, F&& f) {
    std::vector<at::Tensor> part;
    std::int64_t bytes = 0;
    for (const auto& t : ts) {
      const std::int64_t b = t.numel() * t.element_size();
      if (!part.empty() && (bytes + b > bucket_bytes || t.scalar_type() != part.front().scalar_type())) {
        f(part);
        part.clear();
        bytes = 0;
      }
      part.push_back(t);
      bytes += b;
    }
    if (!part.empty()) f(part);
  }

  // Marks this rank's arrival at collective #seq_ in the store, waits for the work, and turns
  // a failure into an error naming the rank(s) that did not arrive.
  void run(const char* what, c10::intrusive_ptr<c10d::Work> work, std::int64_t bytes) {
    const auto t0 = std::chrono::steady_clock::now();
    ++seq_;
    try {
      store_->set("arrive/" + std::to_string(env_.rank), std::to_string(seq_));
      work->wait(timeout_);
    } catch (const std::exception& e) {
      throw lost_rank_error(lost_ranks(what) + " (" + first_line(e.what()) + ")");
    }
    stats_.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    stats_.bytes += bytes;
    ++stats_.collectives;
  }

  [[nodiscard]] std::string lost_ranks(const char* what) {
    std::vector<std::string> behind, arrived;
    bool store_gone = false;
    try {
      store_->setTimeout(std::chrono::seconds(5));
      for (int r = 0; r < env_.world_size; ++r) {
        if (r == env_.rank) continue;
        const auto key = "arrive/" + std::to_string(r);
        long long at = 0;
        if (store_->check({key})) {
          const auto v = store_->get(key);
          at = std::stoll(std::string(v.begin(), v.end()));
        }
        (at < seq_ ? behind : arrived).push_back(std::to_string(r) + " (last arrived at #" + std::to_string(at) + ")");
      }
    } catch (const std::exception&) {
      store_gone = true;
    }
    auto join = [](const std::vector<std::string>& v) {
      std::string s;
      for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
      return s;
    };
    const std::string head = "ptp::torch::distributed: rank " + std::to_string(env_.rank) + " of " + std::to_string(env_.world_size) +
                             ": " + what + " #" + std::to_string(seq_) + " failed: ";
    if (store_gone)
      return head + (env_.agent_store ? "the torchrun agent's store" : "the store hosted by rank 0") + " at " + env_.master_addr + ":" +
             std::to_string(env_.master_port) + " is unreachable: lost rank 0" + (env_.agent_store ? " or the agent" : "");
    if (!behind.empty()) return head + "lost rank " + join(behind) + ": it did not reach this collective";
    return head + "lost rank " + (arrived.empty() ? std::string("?") : join(arrived)) + " during it (it arrived, then its connection failed)";
  }

  static std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

  environment env_;
  at::Device device_;
  std::chrono::milliseconds timeout_;
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::Backend> backend_;
  std::int64_t seq_ = 0;
  traffic stats_;
};

/// The process's group, for programs that join once at start-up (join_from_env) and reach it
/// from deep inside (the trainer, the evaluator); null when not under torchrun.
inline group*& joined() {
  static group* g = nullptr;
  return g;
}

/// Joins torchrun's group when its variables are set (and makes it joined()); the returned
/// owner keeps it alive. Null, and nothing changed, without them.
inline std::unique_ptr<group> join_from_env(at::Device device) {
  auto g = group::from_env(device);
  joined() = g.get();
  return g;
}

}  // namespace ptp::torch::distributed
