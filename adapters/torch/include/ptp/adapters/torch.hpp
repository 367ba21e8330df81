// ptp/adapters/torch.hpp — the LibTorch adapter (DESIGN.md): everything the core needs to run
// on torch tensors on any device, plus the LibTorch side of prompt tuning.
//   torch/backend.hpp   ptp::backend<torch::Tensor>: the device ops, losses and random fills
//   torch/model.hpp     ptp::torch::autograd_model: a Differentiable + LogitModel by autograd
//   torch/prompts.hpp   soft_prompt, ptuning_encoder, prefix_encoder (torch::nn modules)
//   torch/training.hpp  train_step, AdamW + linear warm-up/decay, atomic checkpoints
//   torch/encoders.hpp  BERT / RoBERTa / ALBERT from HF safetensors (+ safetensors.hpp, hf_config.hpp)
// Link ptp::torch (created when find_package(Torch) succeeds). Inside namespace ptp, spell
// the library ::torch (ptp::torch is this adapter's namespace).
#pragma once

#include "ptp/adapters/torch/backend.hpp"
#include "ptp/adapters/torch/model.hpp"
#include "ptp/adapters/torch/prompts.hpp"
#include "ptp/adapters/torch/training.hpp"
#include "ptp/adapters/torch/encoders.hpp"
