"""Train the disparity network on procedural stereo scenes (a campaign over many sessions).

    python models/train/train.py --minutes 80            # new run (or continue with --resume)
    python models/train/train.py --resume --minutes 30   # continue from campaign/last.pt

Everything goes to --out (default models/train/campaign/, committed, so that the next
session, possibly on another machine, continues instead of restarting):
  last.pt      resume state (weights, optimizer, iteration, data position), every
               --save-every minutes, on SIGTERM / Ctrl-C and at the end;
  best.pt      the weights (raw, or their exponential moving average, --ema) that give the
               best refocus fidelity on the Middlebury motorcycle pair, the project's real
               validation pair (checkpoint selection only: it is never trained on): the
               mean PSNR, focus near and far, of evaluate.py's refocus fidelity at full
               resolution, what shipping a model is decided on (--select epe: the lowest
               full-resolution EPE instead);
  train.log    iterations per second, losses, synthetic-validation and motorcycle scores,
               time left.
Device: cuda if available, else CPU with --threads threads.
"""

from __future__ import annotations

import argparse
import copy
import os
import signal
import sys
import time

# Passive OpenMP waiting: on a shared 2-core machine spinning threads slow training a lot.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import metrics, motorcycle, run_scaled  # noqa: E402
from evaluate import Fidelity  # noqa: E402
import dataset as default_dataset  # noqa: E402
from dataset import StereoSceneGenerator  # noqa: E402
from model import MAX_DISPARITY, PARTS, StereoNet, count_params, parts_in, plans_of, without_parts  # noqa: E402

CAMPAIGN = os.path.join(HERE, "campaign")


def barron(x, alpha=1.0, c=2.0):
    """Barron's general robust loss; alpha=1 is sqrt((x/c)^2 + 1) - 1 (pseudo-Huber)."""
    if alpha == 1.0:
        return torch.sqrt((x / c) ** 2 + 1.0) - 1.0
    b = abs(alpha - 2.0)
    return b / alpha * (((x / c) ** 2 / b + 1.0) ** (alpha / 2.0) - 1.0)


SCALE_WEIGHTS = (0.5, 0.7, 0.85, 1.0)  # 1/8, 1/4, 1/2, 1


def hard_pixels(gt):
    """Masks of the pixels refocusing shows errors at: occluded ones (the right camera does
    not see them: a pixel to the right lands at or left of them, x' - d' <= x - d) and the
    9x9 bands around depth jumps of more than 2 px. gt: [B, 1, H, W]."""
    xs = torch.arange(gt.shape[-1], dtype=gt.dtype, device=gt.device)
    xr = xs - gt
    # the smallest x' - d' over the pixels right of each pixel
    after = torch.cat([xr[..., 1:], torch.full_like(xr[..., :1], float("inf"))], dim=-1)
    right_min = torch.flip(torch.cummin(torch.flip(after, [-1]), dim=-1).values, [-1])
    occluded = (right_min <= xr - 0.5) | (xr < 0)
    jump_x = F.pad((gt[..., 1:] - gt[..., :-1]).abs() > 2, (0, 1))
    jump_y = F.pad((gt[..., 1:, :] - gt[..., :-1, :]).abs() > 2, (0, 0, 0, 1))
    edges = F.max_pool2d((jump_x | jump_y).float(), 9, stride=1, padding=4) > 0
    return occluded, edges & ~occluded


def multiscale_loss(outs, gt, max_disp, occluded_weight=1.0, edge_weight=1.0):
    H, W = gt.shape[-2:]
    valid = (gt >= 0) & (gt <= max_disp)
    weight = torch.ones_like(gt)
    if occluded_weight != 1.0 or edge_weight != 1.0:
        occluded, edges = hard_pixels(gt)
        weight = weight + (occluded_weight - 1.0) * occluded + (edge_weight - 1.0) * edges
    weight = weight * valid
    total = 0.0
    for w, o in zip(SCALE_WEIGHTS, outs):
        if o.shape[-1] != W:
            o = F.interpolate(o, size=(H, W), mode="bilinear", align_corners=False)
        total = total + w * (barron(o - gt) * weight).sum() / weight.sum()
    return total


class Logger:
    def __init__(self, path):
        self.f = open(path, "a", buffering=1)

    def __call__(self, *a):
        s = time.strftime("%Y-%m-%d %H:%M:%S ") + " ".join(str(x) for x in a)
        print(s, flush=True)
        self.f.write(s + "\n")


def make_val_set(n, h, w, seed=424242):
    g = StereoSceneGenerator(h, w, seed=seed)
    L, R, D = [], [], []
    for i in range(n):
        l, r, d = g.sample(i)
        L.append(l.transpose(2, 0, 1))
        R.append(r.transpose(2, 0, 1))
        D.append(d[None])
    return torch.from_numpy(np.stack(L)), torch.from_numpy(np.stack(R)), torch.from_numpy(np.stack(D))


@torch.no_grad()
def validate(net, val, device, bs=4):
    net.eval()
    L, R, D = val
    errs = []
    for i in range(0, len(L), bs):
        p = net(L[i:i + bs].to(device), R[i:i + bs].to(device)).cpu()
        errs.append((p - D[i:i + bs]).abs().flatten())
    e = torch.cat(errs)
    net.train()
    return float(e.mean()), float((e > 1).float().mean() * 100), float((e > 3).float().mean() * 100)


@torch.no_grad()
def eval_motorcycle(net, device, data, fidelity):
    """Scores on the real pair (dense, all valid pixels), and the refocus fidelity (PSNR
    near and far) at full resolution."""
    net.eval()
    l, r, gt = data

    def fn(a, b):
        return net(torch.from_numpy(a).to(device), torch.from_numpy(b).to(device)).cpu().numpy()

    out = {}
    for name, s in (("half", 0.5), ("full", 1.0)):
        d = run_scaled(fn, l, r, s)
        out[name] = metrics(d, gt)
    f = fidelity(d)
    out["fidelity"] = {"near": f["near"]["psnr"], "far": f["far"]["psnr"]}
    net.train()
    return out


def make_optimizer(kind, groups, lr):
    if kind == "adam":
        return torch.optim.Adam(groups, lr=lr)
    if kind == "rmsprop":
        return torch.optim.RMSprop(groups, lr=lr, alpha=0.9, eps=1e-8)
    raise ValueError(kind)


def parameter_groups(net, boosts):
    """The optimizer's groups: the parameters named by a --lr-boost prefix get the
    learning rate times its factor (a part grown at zero learns at the campaign's decayed
    rate far too slowly), all others the plain rate. Returns (groups, names in the
    optimizer's order)."""
    factors = {n: next((f for prefix, f in boosts if n.startswith(prefix)), 1.0) for n, _ in net.named_parameters()}
    by_factor = {f: [n for n in factors if factors[n] == f] for f in sorted(set(factors.values()))}
    groups = [{"params": [net.get_parameter(n) for n in names], "lr_factor": f} for f, names in by_factor.items()]
    return groups, [n for names in by_factor.values() for n in names]


def load_optimizer(opt, saved, saved_names, names):
    """Load a saved optimizer state into `opt` whose groups may differ from the saved ones
    (another --lr-boost): the per-parameter state goes by parameter name, the
    hyperparameters come from the saved first group, the factors stay this run's."""
    by_name = {saved_names[i]: st for i, st in saved["state"].items()}
    hyper = {k: v for k, v in saved["param_groups"][0].items() if k not in ("params", "lr_factor")}
    state, groups, j = {}, [], 0
    for g in opt.param_groups:
        idx = list(range(j, j + len(g["params"])))
        groups.append(dict(hyper, params=idx, lr_factor=g["lr_factor"]))
        j += len(idx)
    for i, n in enumerate(names):
        if n in by_name:
            state[i] = by_name[n]
    opt.load_state_dict({"state": state, "param_groups": groups})


def lr_boost(text):
    prefix, factor = text.split("=")
    return prefix, float(factor)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=80.0, help="wall-clock budget of this invocation")
    ap.add_argument("--iters", type=int, default=0, help="stop at this total iteration count (0 = no limit)")
    ap.add_argument("--batch", type=int, default=6)
    ap.add_argument("--crop", type=str, default="192x384", help="HxW, multiples of 32")
    ap.add_argument("--optim", choices=["adam", "rmsprop"], default=None,
                    help="default: rmsprop, or the optimizer of the resumed checkpoint")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--lr-boost", type=lr_boost, action="append", default=[], metavar="PREFIX=FACTOR",
                    help="learning rate times FACTOR for the parameters whose names start with PREFIX "
                         "(e.g. propagate.=100 for a part just grown at zero)")
    ap.add_argument("--lr-decay", type=float, default=0.5, help="lr multiplier per --decay-iters")
    ap.add_argument("--decay-iters", type=int, default=8000,
                    help="lr halves every this many iterations (20000 up to the campaign's iteration 11,590)")
    ap.add_argument("--restart-at", type=int, default=0, metavar="ITER",
                    help="a warm restart: the schedule counts iterations from ITER, so the lr is --lr "
                         "there (the campaign restarted at 69,128; repeat it on resume)")
    ap.add_argument("--max-scene-disp", type=float, default=200.0)
    ap.add_argument("--out", default=CAMPAIGN)
    ap.add_argument("--resume", nargs="?", const="auto", default=None,
                    help="checkpoint to continue from (default: <out>/last.pt)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=1, help="data generator processes")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--save-every", type=float, default=4.0, help="minutes")
    ap.add_argument("--eval-every", type=float, default=5.0, help="minutes")
    ap.add_argument("--val-n", type=int, default=32)
    ap.add_argument("--reset-best", action="store_true",
                    help="forget the resumed best motorcycle EPE (after changing the evaluation)")
    ap.add_argument("--log", default=None, help="log file (default <out>/train.log)")
    ap.add_argument("--data-module", default=None,
                    help="ablations: a dataset module file to train on instead of dataset.py "
                         "(the synthetic validation set stays dataset.py's)")
    ap.add_argument("--no-census", action="store_true", help="ablation: no census cost (zeros instead)")
    ap.add_argument("--half-picks", default=None, metavar="PLAN",
                    help="hand-made pick steps at the end of the 1/2 stage (model.parse_picks; no weights, "
                         "trained through), e.g. p4,p4,p4,r9; default: as the resumed checkpoint, else none")
    ap.add_argument("--full-picks", default=None, metavar="PLAN",
                    help="the same after the upsampling to full resolution; default: as the resumed checkpoint, else none")
    ap.add_argument("--parts", default=None,
                    help="which of model.PARTS the network has, comma-separated ('' for none); "
                         "default: those of the resumed checkpoint (or of --weights), else all")
    ap.add_argument("--weights", default=None,
                    help="a new leg from this checkpoint's weights (and as its moving average), with the "
                         "iteration count, learning rate and optimizer state of --resume")
    ap.add_argument("--occluded-weight", type=float, default=1.0,
                    help="loss weight of occluded pixels (1 = as any other; 3 was tried at iteration 13,328, see CAMPAIGN.md)")
    ap.add_argument("--edge-weight", type=float, default=1.0,
                    help="loss weight of the 9x9 bands around depth jumps (1 = as any other)")
    ap.add_argument("--select", choices=["fidelity", "epe"], default="fidelity",
                    help="what best.pt is chosen by on the motorcycle pair")
    ap.add_argument("--ema", type=float, default=0.999,
                    help="decay per iteration of the weights' moving average (0 = none)")
    a = ap.parse_args()

    os.makedirs(a.out, exist_ok=True)
    log = Logger(a.log or os.path.join(a.out, "train.log"))
    device = torch.device("cuda" if (a.device == "auto" and torch.cuda.is_available()) else
                          ("cpu" if a.device == "auto" else a.device))
    if device.type == "cpu":
        torch.set_num_threads(a.threads)
        torch.set_num_interop_threads(1)
    ch, cw = (int(v) for v in a.crop.lower().split("x"))
    assert ch % 32 == 0 and cw % 32 == 0

    torch.manual_seed(a.seed)
    it, samples, best, trained_s = 0, 0, float("inf"), 0.0
    best_psnr = float("-inf")
    ck_path = os.path.join(a.out, "last.pt")
    ck = None
    if a.resume:
        path = ck_path if a.resume == "auto" else a.resume
        ck = torch.load(path, map_location=device, weights_only=False)
        if a.optim is None:
            a.optim = ck.get("args", {}).get("optim") or "rmsprop"
        half, full = plans_of(ck.get("args", {}))
        a.half_picks = half if a.half_picks is None else a.half_picks
        a.full_picks = full if a.full_picks is None else a.full_picks
    a.optim = a.optim or "rmsprop"
    a.half_picks, a.full_picks = a.half_picks or "", a.full_picks or ""
    weights = None
    if a.weights:
        weights = torch.load(a.weights, map_location=device, weights_only=False)["model"]
    elif ck is not None:
        weights = ck["model"]
    if a.parts is None:
        a.parts = ",".join(PARTS if weights is None else parts_in(weights))
    parts = [p for p in a.parts.split(",") if p]
    net = StereoNet(census=not a.no_census, parts=parts, half_picks=a.half_picks, full_picks=a.full_picks).to(device)
    groups, optim_names = parameter_groups(net, a.lr_boost)
    opt = make_optimizer(a.optim, groups, a.lr)
    if weights is not None:
        net.load_state_dict(without_parts(weights, parts))
    if ck is not None:
        saved_names = ck.get("optim_names") or [n for n, _ in net.named_parameters()]
        load_optimizer(opt, ck["optim"], saved_names, optim_names)
        it, samples, best, trained_s = ck["iter"], ck["samples"], ck["best"], ck["trained_s"]
        best_psnr = ck.get("best_psnr", float("-inf"))
        if a.reset_best:
            best, best_psnr = float("inf"), float("-inf")
        log(f"resumed {path}: iter {it}, samples {samples}, best motorcycle EPE {best:.3f}, trained {trained_s / 60:.1f} min")
    if a.weights:
        log(f"a new leg: the weights of {a.weights}, parts {parts or 'none'}, "
            f"picks {a.half_picks or 'none'} at 1/2, {a.full_picks or 'none'} at full resolution")
    log(f"device {device} threads {torch.get_num_threads()} params {count_params(net)} args {vars(a)}")
    # The moving average of the weights (Polyak averaging): what is evaluated besides the
    # raw weights; it smooths the iteration-to-iteration noise of a small batch.
    ema = copy.deepcopy(net).eval() if a.ema > 0 else None
    if ema is not None and ck is not None and "ema" in ck and not a.weights:
        ema.load_state_dict(ck["ema"])
    if ema is not None:
        for p in ema.parameters():
            p.requires_grad_(False)

    def save(path):
        ck = {"model": net.state_dict(), "optim": opt.state_dict(), "optim_names": optim_names,
              "iter": it, "samples": samples,
              "best": best, "best_psnr": best_psnr, "trained_s": trained_s, "args": vars(a),
              "max_disparity": MAX_DISPARITY}
        if ema is not None:
            ck["ema"] = ema.state_dict()
        torch.save(ck, path + ".tmp")
        os.replace(path + ".tmp", path)

    stop = {"flag": False}

    def on_signal(sig, frame):
        stop["flag"] = True
        log(f"signal {sig}: saving and stopping")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    val = make_val_set(a.val_n, 192, 384)
    moto = motorcycle()
    fidelity = Fidelity(moto[0], moto[2])
    data = default_dataset
    if a.data_module:
        import importlib.util

        spec = importlib.util.spec_from_file_location("ablation_dataset", a.data_module)
        data = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(data)
    ds = data.make_iterable_dataset(ch, cw, a.seed, start_index=samples, max_disp=a.max_scene_disp)
    dl = torch.utils.data.DataLoader(ds, batch_size=a.batch, num_workers=a.workers,
                                     pin_memory=device.type == "cuda",
                                     persistent_workers=a.workers > 0)
    t0 = time.time()
    budget_s = a.minutes * 60
    last_save = last_eval = t0
    run_loss, run_n, t_it = 0.0, 0, time.time()
    net.train()
    train_loop = iter(dl)
    try:
        while not stop["flag"]:
            try:
                left, right, gt, idx = next(train_loop)
            except Exception as e:  # e.g. the generator worker got the Ctrl-C too
                log(f"data loader stopped: {type(e).__name__}: {e}")
                break
            if stop["flag"]:
                break
            lr = a.lr * a.lr_decay ** (max(it - a.restart_at, 0) / a.decay_iters)
            for g in opt.param_groups:
                g["lr"] = lr * g["lr_factor"]
            left, right, gt = left.to(device, non_blocking=True), right.to(device, non_blocking=True), gt.to(device, non_blocking=True)
            try:
                outs = net(left, right, all_scales=True)
                loss = multiscale_loss(outs, gt, MAX_DISPARITY, a.occluded_weight, a.edge_weight)
                if not torch.isfinite(loss):
                    raise FloatingPointError(f"loss {float(loss)}")
            except (RuntimeError, FloatingPointError) as e:
                # A degenerate sample (non-finite values somewhere) must not end the campaign,
                # nor, since samples are drawn by index, stop every resume at the same batch.
                finite = [bool(torch.isfinite(t).all()) for t in (left, right, gt)]
                log(f"skipped the batch of samples {int(idx.min())}..{int(idx.max())}: "
                    f"{type(e).__name__}: {str(e)[:120]} (inputs finite: left, right, gt = {finite})")
                samples = max(samples, int(idx.max()) + 1)
                continue
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            opt.step()
            if ema is not None:
                with torch.no_grad():
                    for pe, p in zip(ema.state_dict().values(), net.state_dict().values()):
                        if pe.dtype.is_floating_point:
                            pe.mul_(a.ema).add_(p, alpha=1.0 - a.ema)
                        else:
                            pe.copy_(p)
            it += 1
            samples = max(samples, int(idx.max()) + 1)
            run_loss += float(loss.detach())
            run_n += 1
            now = time.time()
            if it % 50 == 0:
                with torch.no_grad():
                    epe = float((outs[-1] - gt).abs().mean())
                left_s = budget_s - (now - t0)
                if a.iters:
                    left_s = min(left_s, (a.iters - it) * (now - t_it) / run_n)
                log(f"it {it} loss {run_loss / run_n:.4f} train-epe {epe:.3f} lr {lr:.2e} "
                    f"{run_n / (now - t_it):.2f} it/s {a.batch * run_n / (now - t_it):.1f} samples/s "
                    f"left {left_s / 60:.0f} min")
                run_loss, run_n, t_it = 0.0, 0, now
            if now - last_eval >= a.eval_every * 60:
                trained_s_now = trained_s + (now - t0)
                for name, model in (("raw", net), ("ema", ema)):
                    if model is None:
                        continue
                    v = validate(model, val, device)
                    m = eval_motorcycle(model, device, moto, fidelity)
                    score = (m["fidelity"]["near"] + m["fidelity"]["far"]) / 2
                    is_best = score > best_psnr if a.select == "fidelity" else m["full"]["epe"] < best
                    best = min(best, m["full"]["epe"])
                    best_psnr = max(best_psnr, score)
                    log(f"EVAL it {it} {name} synth-val EPE {v[0]:.3f} bad1 {v[1]:.1f}% bad3 {v[2]:.1f}% | "
                        f"motorcycle half EPE {m['half']['epe']:.3f} bad1 {m['half']['bad1']:.1f}% bad3 {m['half']['bad3']:.1f}% "
                        f"full EPE {m['full']['epe']:.3f} bad1 {m['full']['bad1']:.1f}% bad3 {m['full']['bad3']:.1f}% "
                        f"fidelity near {m['fidelity']['near']:.2f} far {m['fidelity']['far']:.2f} dB"
                        f"{' (best)' if is_best else ''} | trained {trained_s_now / 3600:.2f} h")
                    if is_best:
                        torch.save({"model": model.state_dict(), "iter": it, "samples": samples, "best": best,
                                    "best_psnr": best_psnr,
                                    "trained_s": trained_s_now, "args": vars(a), "max_disparity": MAX_DISPARITY,
                                    "weights": name, "val": v, "motorcycle": m},
                                   os.path.join(a.out, "best.pt.tmp"))
                        os.replace(os.path.join(a.out, "best.pt.tmp"), os.path.join(a.out, "best.pt"))
                last_eval = time.time()
            if now - last_save >= a.save_every * 60:
                ts, trained_s = trained_s, trained_s + (now - t0)
                save(ck_path)
                trained_s = ts
                last_save = now
            if (a.iters and it >= a.iters) or (now - t0) >= a.minutes * 60:
                break
    except Exception as e:  # e.g. a signal-killed data worker; keep what was learned
        import traceback

        log(f"training interrupted: {type(e).__name__}: {e}\n{traceback.format_exc()}")
    trained_s += time.time() - t0
    if a.iters and it >= a.iters:  # a fixed-length (ablation) run ends with its scores
        v = validate(net, val, device)
        m = eval_motorcycle(net, device, moto, fidelity)
        log(f"FINAL it {it} synth-val EPE {v[0]:.3f} bad1 {v[1]:.1f}% bad3 {v[2]:.1f}% | "
            f"motorcycle half EPE {m['half']['epe']:.3f} bad3 {m['half']['bad3']:.1f}% "
            f"full EPE {m['full']['epe']:.3f} bad1 {m['full']['bad1']:.1f}% bad3 {m['full']['bad3']:.1f}%")
    save(ck_path)
    log(f"stopped at it {it}, samples {samples}, trained {trained_s / 60:.1f} min total; "
        f"best motorcycle EPE {best:.3f}, fidelity {best_psnr:.2f} dB; saved {ck_path}")


if __name__ == "__main__":
    main()
