"""Grow a campaign checkpoint to the current architecture of model.py, keeping what it
has learned: the campaign's way of adding to the network without starting over.

    git show HEAD:models/train/model.py > /tmp/old_model.py   # the architecture they were trained with
    python models/train/grow.py --old-model /tmp/old_model.py models/train/campaign/last.pt models/train/campaign/best.pt

Rules, which make the grown network compute exactly what the old one did as long as every
added part starts as the identity (its output convolution or its new input channels at
zero, as model.py starts them):
- a tensor the old checkpoint has with the same shape is copied;
- a convolution that gained input channels keeps the old weights for the old channels
  (the first ones) and gets zeros for the new ones;
- a tensor the old checkpoint does not have keeps model.py's initial value;
- a tensor model.py no longer has is dropped: a part removed because it stayed the identity
  (the check below proves that it did).
The optimizer state follows the same rules by parameter name (an RMSProp or Adam square
average of a grown tensor gets the old tensor's mean for its new entries; a new parameter
starts with no state, as in a new run), and so does the weights' moving average. Each file
is rewritten in place after a check that the grown network's output equals the old one's
(the old architecture's model.py given by --old-model) on a test pair.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from model import StereoNet  # noqa: E402


def grow_tensor(name, old, new_init, fill):
    if old.shape == new_init.shape:
        return old.clone()
    if old.dim() == new_init.dim() and old.shape[0] == new_init.shape[0] and old.shape[2:] == new_init.shape[2:] \
            and old.shape[1] < new_init.shape[1]:
        out = torch.full_like(new_init, fill(old))
        out[:, :old.shape[1]] = old
        return out
    raise ValueError(f"{name}: cannot grow {tuple(old.shape)} to {tuple(new_init.shape)}")


def grow_state(old_sd, net):
    new_sd = net.state_dict()
    grown, added = {}, []
    for k, v in new_sd.items():
        if k in old_sd:
            grown[k] = grow_tensor(k, old_sd[k], v, lambda o: 0.0)
        else:
            grown[k] = v.clone()
            added.append(k)
    dropped = [k for k in old_sd if k not in new_sd]
    return grown, added, dropped


def grow_optimizer(opt_sd, old_names, net):
    by_name = {n: opt_sd["state"][i] for i, n in enumerate(old_names) if i in opt_sd["state"]}
    params = dict(net.named_parameters())
    state = {}
    for i, n in enumerate(params):
        if n not in by_name:
            continue
        st = {}
        for k, v in by_name[n].items():
            if torch.is_tensor(v) and v.dim() > 0:
                st[k] = grow_tensor(f"{n}.{k}", v, torch.zeros_like(params[n]), lambda o: float(o.mean()))
            else:
                st[k] = v
        state[i] = st
    # one group in the model's order; train.py splits it again by its --lr-boost
    hyper = {k: v for k, v in opt_sd["param_groups"][0].items() if k not in ("params", "lr_factor")}
    return {"state": state, "param_groups": [dict(hyper, params=list(range(len(params))))]}


def old_param_names(old_sd, net):
    """The old model's parameter names in its named_parameters order: the current order
    without the parameters the old one lacked (modules only gain parameters here)."""
    buffers = {n for n, _ in net.named_buffers()}
    return [n for n in param_names(old_sd, net) if n not in buffers]


def load_module(path):
    spec = importlib.util.spec_from_file_location("old_model", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_pair():
    """A real-looking pair: a smooth random texture and its copy shifted by 9 px."""
    g = torch.Generator().manual_seed(0)
    x = torch.nn.functional.interpolate(torch.rand(1, 3, 24, 40, generator=g), size=(192, 320), mode="bilinear")
    return x, torch.roll(x, shifts=-9, dims=3)


def grow_file(path, old_model):
    ck = torch.load(path, map_location="cpu", weights_only=False)
    census = not ck.get("args", {}).get("no_census", False)
    old = old_model.StereoNet(census=census)
    old.load_state_dict(ck["model"])
    x, y = test_pair()
    with torch.no_grad():
        old_out = old.eval()(x, y)
    net = StereoNet(census=census)
    # the optimizer's order of the parameters (train.py saves it; older files: the model's)
    old_names = ck.get("optim_names") or [n for n, _ in old.named_parameters()]
    ck["model"], added, dropped = grow_state(ck["model"], net)
    if "ema" in ck:
        ck["ema"], _, _ = grow_state(ck["ema"], net)
    if "optim" in ck:
        ck["optim"] = grow_optimizer(ck["optim"], old_names, net)
        ck["optim_names"] = [n for n, _ in net.named_parameters()]
    net.load_state_dict(ck["model"])
    with torch.no_grad():
        diff = float((net.eval()(x, y) - old_out).abs().max())
    assert diff < 1e-3, f"{path}: the grown network differs from the old one by {diff} px"
    ck.setdefault("grown", []).append({"iter": ck.get("iter"), "added": added, "dropped": dropped})
    torch.save(ck, path + ".tmp")
    os.replace(path + ".tmp", path)
    print(f"{path}: iteration {ck.get('iter')}, added {added}, dropped {dropped}; max |grown - old| = {diff:.1e} px")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--old-model", required=True, help="model.py of the architecture the checkpoints have")
    ap.add_argument("checkpoints", nargs="+")
    a = ap.parse_args()
    old_model = load_module(a.old_model)
    for path in a.checkpoints:
        grow_file(path, old_model)


if __name__ == "__main__":
    main()
