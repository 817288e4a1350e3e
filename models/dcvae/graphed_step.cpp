#include "models/dcvae/graphed_step.h"

namespace ad::dcvae {

GraphedTrainStep::GraphedTrainStep(Network& net, Adam& opt, Device device)
    : net_(net), opt_(opt), device_(device), uploader_(device) {
  AD_CHECK(device != Device::CPU, "dcvae::GraphedTrainStep", "graphs need a device, not the CPU");
  opt_.use_device_scalars();
  noise_offset_ = Tensor::zeros({1}, DType::I64, device);
  net_.set_device_noise_offset(noise_offset_);
}

GraphedTrainStep::~GraphedTrainStep() { net_.set_device_noise_offset(Tensor()); }

void GraphedTrainStep::step(const Tensor& host_batch, PhiloxStream& rng, Tensor& loss_sums) {
  const int64_t batch = host_batch.size(0);
  PerBatchSize& ps = sizes_[batch];
  if (!ps.x.defined()) ps.x = Tensor::empty(host_batch.shape(), host_batch.dtype(), device_);
  // The step's inputs, written before it runs (stream order), never by it.
  uploader_.upload_into(host_batch, ps.x);
  opt_.advance();
  const uint64_t offset = rng.reserve(uint64_t(net_.noise_draws(ps.x)));
  uploader_.upload_into(Tensor::from_vector({double(offset)}, {1}, DType::I64), noise_offset_);
  auto body = [&] { train_step(net_, opt_, ps.x, rng, loss_sums); };
  if (ps.eager_steps == 0) {
    body();
    ++ps.eager_steps;
    return;
  }
  if (!ps.graph) {
    ps.graph = std::make_unique<StepGraph>(device_);
    ps.graph->capture(body);
    ps.loss_sums = loss_sums.raw();
    ++captures_;
  }
  AD_CHECK(loss_sums.raw() == ps.loss_sums, "dcvae::GraphedTrainStep", "the loss sums moved since the capture");
  ps.graph->replay();
  ++replays_;
}

}  // namespace ad::dcvae
