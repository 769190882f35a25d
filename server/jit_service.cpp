#include "server/jit_service.hpp"

#include <chrono>

#include "ir/compiler.hpp"
#include "jit/jit_loader.hpp"
#include "server/logging.hpp"
#include "server/metrics.hpp"
#include "server/pipeline_host.hpp"

namespace varpulis::server {

JitService::JitService(ServerMetrics& metrics, int opt_level) : metrics_(metrics), opt_level_(opt_level) {
    thread_ = std::thread([this] { run(); });
}

JitService::~JitService() { stop(); }

void JitService::request(const std::shared_ptr<PipelineHost>& p) {
    {
        std::lock_guard<std::mutex> lk(mu_);
        if (stop_ || unavailable_) return;
        queue_.push_back(p);
    }
    cv_.notify_one();
}

void JitService::stop() {
    {
        std::lock_guard<std::mutex> lk(mu_);
        stop_ = true;
        queue_.clear();
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void JitService::run() {
    for (;;) {
        std::shared_ptr<PipelineHost> host;
        {
            std::unique_lock<std::mutex> lk(mu_);
            cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
            if (stop_) return;
            host = queue_.front().lock();
            queue_.pop_front();
        }
        if (!host) continue;
        try {
            if (!compiler_) {
                std::string error;
                jit::JitOptions options;
                options.opt_level = opt_level_;
                compiler_ = jit::load_jit(options, error);
                if (!compiler_) {
                    log_warn("JIT unavailable; pipelines stay interpreted", {{"error", error}});
                    std::lock_guard<std::mutex> lk(mu_);
                    unavailable_ = true;
                    queue_.clear();
                    return;
                }
            }
            uint64_t generation = 0;
            std::shared_ptr<ir::Compilation> comp = host->jit_job(generation);
            auto t0 = std::chrono::steady_clock::now();
            std::string error;
            auto compiled = compiler_->compile(*comp->plan, error);
            double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            metrics_.count_jit(compiled != nullptr, seconds);
            if (!compiled) {
                log_warn("JIT compile failed; pipeline stays interpreted", {{"pipeline_id", host->id()}, {"error", error}});
                continue;
            }
            bool installed = host->install_kernels(generation, compiled->kernels);
            log_debug("JIT compiled", {{"pipeline_id", host->id()},
                                       {"ms", std::to_string(seconds * 1000)},
                                       {"installed", installed ? "true" : "false"}});
            // The kernels refer to the plan: drop them before the compilation.
            compiled.reset();
            comp.reset();
            bool idle = false;
            {
                std::lock_guard<std::mutex> lk(mu_);
                idle = queue_.empty();
            }
            // Nothing else to compile: LLVM's code pages go back to the system until the next
            // deploy or reload (they fault back in from the page cache).
            if (idle) compiler_->release_idle_memory();
        } catch (const std::exception& e) {
            metrics_.count_jit(false, 0);
            log_error("JIT compile threw", {{"pipeline_id", host->id()}, {"error", e.what()}});
        }
    }
}

}  // namespace varpulis::server
