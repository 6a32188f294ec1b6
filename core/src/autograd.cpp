// The autograd engine: dependency counting over the graph reachable from the roots, then a topological
// walk that feeds each node the summed gradients of its outputs. Runs with grad mode off.
#include "pyllm/autograd.h"

#include <unordered_map>
#include <unordered_set>

#include "pyllm/ops.h"

namespace pyllm {

namespace {
thread_local bool g_grad_enabled = true;
}

SavedTensor::SavedTensor(const Tensor& t) {
  if (t.defined()) {
    tensor_ = t.detach();  // no grad_fn: a saved output must not point back at its own node
    version_ = t.version();
  }
}

Tensor SavedTensor::unpack(const std::string& op) const {
  if (tensor_.defined()) {
    PYLLM_CHECK(tensor_.version() == version_, RuntimeError,
                op << ": a tensor needed for gradient computation was modified by an in-place operation "
                      "after it was saved (its version is " << tensor_.version() << ", expected " << version_
                   << "); clone it before modifying it");
  }
  return tensor_;
}

std::vector<Tensor> FunctionNode::apply(std::vector<Tensor>& grads) {
  PYLLM_CHECK(fn_ != nullptr, RuntimeError,
              name_ << ": trying to backward through the graph a second time, but its saved tensors were "
                       "freed by the first backward; pass retain_graph=True to the first backward");
  return fn_(grads);
}

std::vector<Tensor> AccumulateGrad::apply(std::vector<Tensor>& grads) {
  Tensor& incoming = grads[0];
  if (!incoming.defined()) return {};
  PYLLM_CHECK(incoming.shape() == variable_.shape(), RuntimeError,
              "AccumulateGrad: gradient of shape " << shape_str(incoming.shape()) << " for a leaf of shape "
                                                   << shape_str(variable_.shape()));
  Tensor current = variable_.grad();
  if (!current.defined()) {
    // Take the incoming tensor itself when nothing else can see it; otherwise copy, so that .grad never
    // aliases another tensor (a later accumulation writes into it in place).
    bool exclusive = incoming.impl_ptr().use_count() == 1 && incoming.storage().use_count() == 1 &&
                     incoming.is_contiguous() && incoming.offset() == 0;
    variable_.set_grad(exclusive ? incoming : ops::clone(incoming));
  } else {
    ops::add_(current, incoming);
  }
  return {};
}

namespace autograd {

bool grad_enabled() { return g_grad_enabled; }
void set_grad_enabled(bool enabled) { g_grad_enabled = enabled; }

bool needs_grad(std::initializer_list<Tensor> inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

Edge gradient_edge(const Tensor& t) {
  if (!t.defined()) return {};
  if (t.grad_fn()) return {t.grad_fn(), t.output_nr()};
  if (!t.requires_grad()) return {};
  std::shared_ptr<Node> acc = t.impl()->grad_accumulator.lock();
  if (!acc) {
    acc = std::make_shared<AccumulateGrad>(t);
    t.impl()->grad_accumulator = acc;
  }
  return {acc, 0};
}

std::shared_ptr<Node> record(const std::string& name, const std::vector<Tensor>& inputs,
                             const std::vector<Tensor>& outputs, BackwardFn backward) {
  auto node = std::make_shared<FunctionNode>(name, std::move(backward));
  node->num_outputs = static_cast<uint32_t>(outputs.size());
  node->next_edges.reserve(inputs.size());
  for (const Tensor& in : inputs) node->next_edges.push_back(gradient_edge(in));
  for (size_t i = 0; i < outputs.size(); ++i) {
    TensorImpl* impl = outputs[i].impl();
    impl->grad_fn = node;
    impl->output_nr = static_cast<uint32_t>(i);
    impl->requires_grad = true;
  }
  return node;
}

void run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads, bool retain_graph) {
  PYLLM_CHECK(roots.size() == grads.size(), ValueError,
              "backward: got " << roots.size() << " outputs but " << grads.size() << " gradients");
  NoGradGuard no_grad;

  std::vector<Edge> root_edges;
  for (size_t i = 0; i < roots.size(); ++i) {
    Edge e = gradient_edge(roots[i]);
    PYLLM_CHECK(e.fn != nullptr, RuntimeError,
                "backward: element " << i << " of the outputs does not require grad and has no grad_fn");
    root_edges.push_back(e);
  }

  // How many edges point at each node from inside the reachable graph.
  std::unordered_map<Node*, int> dependencies;
  std::unordered_set<Node*> seen;
  std::vector<Node*> stack;
  for (const Edge& e : root_edges)
    if (seen.insert(e.fn.get()).second) stack.push_back(e.fn.get());
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    for (const Edge& e : node->next_edges) {
      if (!e.fn) continue;
      ++dependencies[e.fn.get()];
      if (seen.insert(e.fn.get()).second) stack.push_back(e.fn.get());
    }
  }

  std::unordered_map<Node*, std::vector<Tensor>> buffers;
  auto accumulate = [&](Node* fn, uint32_t input_nr, const Tensor& grad) {
    std::vector<Tensor>& buf = buffers[fn];
    if (buf.empty()) buf.resize(fn->num_outputs);
    buf[input_nr] = buf[input_nr].defined() ? ops::add(buf[input_nr], grad) : grad;
  };
  for (size_t i = 0; i < root_edges.size(); ++i) accumulate(root_edges[i].fn.get(), root_edges[i].input_nr, grads[i]);

  std::vector<Node*> ready;
  std::unordered_set<Node*> queued;
  for (const Edge& e : root_edges)
    if (dependencies[e.fn.get()] == 0 && queued.insert(e.fn.get()).second) ready.push_back(e.fn.get());

  while (!ready.empty()) {
    Node* node = ready.back();
    ready.pop_back();
    std::vector<Tensor> node_grads = std::move(buffers[node]);
    buffers.erase(node);
    bool any_grad = false;
    for (const Tensor& g : node_grads) any_grad = any_grad || g.defined();

    std::vector<Tensor> input_grads;
    if (any_grad) {
      node_grads.resize(node->num_outputs);
      input_grads = node->apply(node_grads);
      node_grads.clear();  // let AccumulateGrad's stolen tensors be the only owners
      PYLLM_CHECK(input_grads.empty() || input_grads.size() == node->next_edges.size(), RuntimeError,
                  node->name() << ": backward returned " << input_grads.size() << " gradients for "
                               << node->next_edges.size() << " inputs");
    }
    if (!retain_graph) node->release();

    for (size_t i = 0; i < node->next_edges.size(); ++i) {
      const Edge& e = node->next_edges[i];
      if (!e.fn) continue;
      if (i < input_grads.size() && input_grads[i].defined()) {
        accumulate(e.fn.get(), e.input_nr, input_grads[i]);
        input_grads[i] = Tensor();
      }
      if (--dependencies[e.fn.get()] == 0) ready.push_back(e.fn.get());
    }
  }
}

}  // namespace autograd
}  // namespace pyllm
