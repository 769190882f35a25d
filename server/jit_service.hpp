#pragma once
// Background JIT tiering for deployed pipelines: one shared JitCompiler (loaded on first use
// from the JIT module), one thread compiling queued pipelines and installing the kernels at the
// pipeline's next event boundary. A pipeline reloaded meanwhile ignores the stale result.

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

namespace varpulis::jit {
class JitCompiler;
}

namespace varpulis::server {

class PipelineHost;
class ServerMetrics;

class JitService {
public:
    JitService(ServerMetrics& metrics, int opt_level);
    ~JitService();
    JitService(const JitService&) = delete;
    JitService& operator=(const JitService&) = delete;

    void request(const std::shared_ptr<PipelineHost>& p);
    /// Finishes the compile in progress, drops the queue, joins the thread. Idempotent.
    void stop();

private:
    void run();

    ServerMetrics& metrics_;
    int opt_level_;
    std::unique_ptr<jit::JitCompiler> compiler_;
    bool unavailable_ = false;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::weak_ptr<PipelineHost>> queue_;
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace varpulis::server
