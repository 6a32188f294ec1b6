// Reverse-mode autograd. Each differentiable op, when grad mode is on and an input requires grad, records
// a Node holding its backward formula; Tensor::backward() walks the graph in C++ in topological order.
//
// retain_graph: by default backward frees what the nodes saved for it (and a second backward through the
// same graph raises RuntimeError); with retain_graph=true the graph can be walked again, and gradients
// keep accumulating into .grad, as in PyTorch. Gradients are not differentiable themselves (no
// create_graph): backward formulas run with grad mode off.
#pragma once

#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "pyllm/tensor.h"

namespace pyllm {

class Node;

// Where a gradient flows: input `input_nr` of node `fn` (`fn` null: nowhere).
struct Edge {
  std::shared_ptr<Node> fn;
  uint32_t input_nr = 0;
};

class Node {
 public:
  virtual ~Node() = default;
  virtual std::string name() const = 0;
  // `grads` has one entry per forward output (undefined where that output received no gradient); returns
  // one gradient per forward input, in next_edges order (undefined where the input needs none).
  virtual std::vector<Tensor> apply(std::vector<Tensor>& grads) = 0;
  // Drops saved tensors after a backward without retain_graph.
  virtual void release() {}

  std::vector<Edge> next_edges;
  uint32_t num_outputs = 1;
};

// A saved-for-backward tensor: stored without its history (no cycles through the graph) and with the
// storage version it had, so that an in-place write after saving is caught instead of giving wrong grads.
class SavedTensor {
 public:
  SavedTensor() = default;
  explicit SavedTensor(const Tensor& t);
  Tensor unpack(const std::string& op) const;  // RuntimeError if modified in place since saved
 private:
  Tensor tensor_;
  uint64_t version_ = 0;
};

using BackwardFn = std::function<std::vector<Tensor>(std::vector<Tensor>& grad_outputs)>;

// The node almost every op uses: a named closure over what it saved. release() destroys the closure.
class FunctionNode : public Node {
 public:
  FunctionNode(std::string name, BackwardFn fn) : name_(std::move(name)), fn_(std::move(fn)) {}
  std::string name() const override { return name_; }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override;
  void release() override { fn_ = nullptr; }
 private:
  std::string name_;
  BackwardFn fn_;
};

// Adds incoming gradients into a leaf's .grad.
class AccumulateGrad : public Node {
 public:
  explicit AccumulateGrad(Tensor variable) : variable_(std::move(variable)) {}
  std::string name() const override { return "AccumulateGrad"; }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override;
  const Tensor& variable() const { return variable_; }
 private:
  Tensor variable_;
};

namespace autograd {

bool grad_enabled();
void set_grad_enabled(bool enabled);

// Disables graph recording for its scope (pyllm.no_grad()).
class NoGradGuard {
 public:
  NoGradGuard() : prev_(grad_enabled()) { set_grad_enabled(false); }
  ~NoGradGuard() { set_grad_enabled(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;
 private:
  bool prev_;
};

// True when grad mode is on and any of the inputs requires grad: only then does an op record a node.
bool needs_grad(std::initializer_list<Tensor> inputs);
bool needs_grad(const std::vector<Tensor>& inputs);

// The edge a gradient for `t` flows into: its grad_fn, or its AccumulateGrad if it is a leaf that
// requires grad, or nothing.
Edge gradient_edge(const Tensor& t);

// Records `name`'s backward for `outputs` computed from `inputs`: outputs become non-leaf tensors that
// require grad. Call only when needs_grad(inputs). `backward` gets one grad per output and returns one per
// input (undefined allowed). Returns the node.
std::shared_ptr<Node> record(const std::string& name, const std::vector<Tensor>& inputs,
                             const std::vector<Tensor>& outputs, BackwardFn backward);

// Runs the backward pass from `roots` seeded with `grads` (same length). See retain_graph above.
void run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads, bool retain_graph);

}  // namespace autograd
}  // namespace pyllm
