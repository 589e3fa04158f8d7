/**
 * The program in the PyTorch image (`povchain compute image build --torch`): the container
 * contract (ContainerContract.ts) for two workloads on a povchain dataset blob (e.g. Iris):
 *  - `torch-mlp-train`: an MLP (features → hidden → classes) trained with SGD/momentum on the
 *    seed's train split; checkpoints every `checkpointInterval` steps; the result is the model;
 *  - `torch-mlp-infer`: that model over the dataset; the result is the predictions.
 * Deterministic on CPU: torch.manual_seed, use_deterministic_algorithms, one thread, a fixed
 * batch order from a seeded generator — redundant runs on the same image agree bit for bit.
 * Keccak-256 is written out here (Python's sha3 is the NIST padding, not Ethereum's).
 */
export const TORCH_RUNNER_PATH = '/app/povchain_torch.py'

export const TORCH_RUNNER_SOURCE = String.raw`
import json, os, struct, sys, time

RC = [0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000, 0x000000000000808B, 0x0000000080000001,
      0x8000000080008081, 0x8000000000008009, 0x000000000000008A, 0x0000000000000088, 0x0000000080008009, 0x000000008000000A,
      0x000000008000808B, 0x800000000000008B, 0x8000000000008089, 0x8000000000008003, 0x8000000000008002, 0x8000000000000080,
      0x000000000000800A, 0x800000008000000A, 0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008]
ROT = [[0, 36, 3, 41, 18], [1, 44, 10, 45, 2], [62, 6, 43, 15, 61], [28, 55, 25, 21, 56], [27, 20, 39, 8, 14]]
M64 = (1 << 64) - 1

def _rol(x, n):
    n %= 64
    return ((x << n) | (x >> (64 - n))) & M64 if n else x

def _f(a):
    for rc in RC:
        c = [a[x][0] ^ a[x][1] ^ a[x][2] ^ a[x][3] ^ a[x][4] for x in range(5)]
        d = [c[(x - 1) % 5] ^ _rol(c[(x + 1) % 5], 1) for x in range(5)]
        a = [[a[x][y] ^ d[x] for y in range(5)] for x in range(5)]
        b = [[0] * 5 for _ in range(5)]
        for x in range(5):
            for y in range(5):
                b[y][(2 * x + 3 * y) % 5] = _rol(a[x][y], ROT[x][y])
        a = [[b[x][y] ^ ((~b[(x + 1) % 5][y]) & b[(x + 2) % 5][y]) for y in range(5)] for x in range(5)]
        a[0][0] ^= rc
    return a

def keccak256(data):
    rate = 136
    msg = bytearray(data) + b'\x01'
    while len(msg) % rate:
        msg.append(0)
    msg[-1] |= 0x80
    a = [[0] * 5 for _ in range(5)]
    for off in range(0, len(msg), rate):
        block = msg[off:off + rate]
        for i in range(rate // 8):
            x, y = i % 5, i // 5
            a[x][y] ^= int.from_bytes(block[8 * i:8 * i + 8], 'little')
        a = _f(a)
    out = b''.join(a[i % 5][i // 5].to_bytes(8, 'little') for i in range(4))
    return '0x' + out.hex()

def checkpoint_hash(state):
    return keccak256(b'povchain/checkpoint/v1' + b'\x00' + state)

JOB = os.environ.get('POVCHAIN_JOB_DIR', '/job')
OUT = os.path.join(JOB, 'out')

def progress(step, total, loss):
    print('POVCHAIN-PROGRESS ' + json.dumps({'step': step, 'totalSteps': total, 'loss': loss}), flush=True)

def fail(code, message):
    try:
        with open(os.path.join(OUT, 'error.json'), 'w') as f:
            json.dump({'code': code, 'message': message}, f)
    finally:
        print('error: ' + message, file=sys.stderr)
        sys.exit(2)

def main():
    import numpy as np
    import torch
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)

    with open(os.path.join(JOB, 'in', 'spec.json')) as f:
        spec = json.load(f)
    spec_hash = keccak256(open(os.path.join(JOB, 'in', 'spec.json'), 'rb').read())
    p = spec.get('params', {})
    with open(os.path.join(JOB, 'in', 'dataset')) as f:
        ds = json.load(f)
    if ds.get('format') != 'povchain-dataset' or ds.get('task') != 'classification':
        fail('COMPUTE_INVALID_DATASET', 'needs a povchain classification dataset')
    x = torch.tensor(ds['x'], dtype=torch.float64).to(torch.float32)
    y = torch.tensor(ds['y'], dtype=torch.int64)
    n, features = x.shape
    c = ds.get('classes')
    classes = len(c) if isinstance(c, list) else int(c or (int(y.max()) + 1))
    seed = int(spec['seed'])
    g = torch.Generator().manual_seed(seed)
    os.makedirs(os.path.join(OUT, 'checkpoints'), exist_ok=True)
    checkpoints = []

    def save_checkpoint(step, tensors, extra):
        parts = [struct.pack('<QQ', step, len(tensors))]
        for t in tensors:
            parts.append(t.detach().contiguous().to(torch.float32).numpy().astype('<f4').tobytes())
        parts.append(extra)
        state = b''.join(parts)
        i = len(checkpoints)
        name = 'checkpoints/%d.state' % i
        with open(os.path.join(OUT, name), 'wb') as f:
            f.write(state)
        checkpoints.append({'index': i, 'step': step, 'hash': checkpoint_hash(state), 'file': name})

    def finish(result, metrics, total):
        with open(os.path.join(OUT, 'result'), 'wb') as f:
            f.write(result)
        manifest = {'format': 'povchain-result-manifest', 'version': 1, 'specHash': spec_hash, 'totalSteps': total,
                    'checkpoints': checkpoints, 'result': {'file': 'result', 'hash': keccak256(result)}, 'metrics': metrics}
        with open(os.path.join(OUT, 'manifest.json'), 'w') as f:
            json.dump(manifest, f)

    def make_model(hidden):
        return torch.nn.Sequential(torch.nn.Linear(features, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, classes))

    def r(v):
        return float('%.10g' % float(v))

    if spec['kind'] == 'train':
        hidden = int(p.get('hidden', 16))
        epochs = int(p.get('epochs', 50))
        batch = int(p.get('batchSize', 16))
        lr = float(p.get('learningRate', 0.05))
        test_fraction = float(p.get('testFraction', 0.2))
        perm = torch.randperm(n, generator=g)
        n_test = int(round(n * test_fraction))
        test_idx, train_idx = perm[:n_test], perm[n_test:]
        mean = x[train_idx].mean(0)
        std = x[train_idx].std(0).clamp_min(1e-6)
        xn = (x - mean) / std
        torch.manual_seed(seed)
        model = make_model(hidden)
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
        loss_fn = torch.nn.CrossEntropyLoss()
        steps_per_epoch = (len(train_idx) + batch - 1) // batch
        total = epochs * steps_per_epoch
        K = int(spec['checkpointInterval'])
        step = 0
        def state_tensors():
            ts = list(model.state_dict().values())
            for group in opt.param_groups:
                for q in group['params']:
                    buf = opt.state.get(q, {}).get('momentum_buffer')
                    ts.append(buf if buf is not None else torch.zeros_like(q))
            return ts
        save_checkpoint(0, state_tensors(), g.get_state().numpy().tobytes())
        loss_v = 0.0
        for epoch in range(epochs):
            order = train_idx[torch.randperm(len(train_idx), generator=g)]
            for b in range(steps_per_epoch):
                idx = order[b * batch:(b + 1) * batch]
                opt.zero_grad()
                loss = loss_fn(model(xn[idx]), y[idx])
                loss.backward()
                opt.step()
                step += 1
                loss_v = float(loss)
                if step % K == 0 or step == total:
                    save_checkpoint(step, state_tensors(), g.get_state().numpy().tobytes())
                    progress(step, total, r(loss_v))
        with torch.no_grad():
            tr = model(xn[train_idx]); te = model(xn[test_idx])
            metrics = {
                'trainLoss': r(loss_fn(tr, y[train_idx])), 'trainAccuracy': r((tr.argmax(1) == y[train_idx]).float().mean()),
                'testLoss': r(loss_fn(te, y[test_idx])), 'testAccuracy': r((te.argmax(1) == y[test_idx]).float().mean()),
                'epochs': epochs, 'steps': total,
            }
        weights = {k: v.contiguous().numpy().astype('<f4').tobytes().hex() for k, v in model.state_dict().items()}
        blob = {'format': 'povchain-torch-mlp', 'version': 1, 'features': int(features), 'classes': classes, 'hidden': hidden,
                'mean': mean.numpy().astype('<f4').tobytes().hex(), 'std': std.numpy().astype('<f4').tobytes().hex(), 'weights': weights}
        finish(json.dumps(blob, sort_keys=True, separators=(',', ':')).encode(), metrics, total)
    elif spec['kind'] == 'infer':
        with open(os.path.join(JOB, 'in', 'model')) as f:
            m = json.load(f)
        if m.get('format') != 'povchain-torch-mlp' or m['features'] != features:
            fail('COMPUTE_INVALID_MODEL', 'needs a povchain-torch-mlp model for %d features' % features)
        model = torch.nn.Sequential(torch.nn.Linear(features, m['hidden']), torch.nn.ReLU(), torch.nn.Linear(m['hidden'], m['classes']))
        sd = {k: torch.from_numpy(np.frombuffer(bytes.fromhex(v), dtype='<f4').copy()) for k, v in m['weights'].items()}
        ref = model.state_dict()
        model.load_state_dict({k: sd[k].reshape(ref[k].shape) for k in ref})
        mean = torch.from_numpy(np.frombuffer(bytes.fromhex(m['mean']), dtype='<f4').copy())
        std = torch.from_numpy(np.frombuffer(bytes.fromhex(m['std']), dtype='<f4').copy())
        with torch.no_grad():
            out = model((x - mean) / std)
            pred = out.argmax(1)
            metrics = {'loss': r(torch.nn.functional.cross_entropy(out, y)), 'accuracy': r((pred == y).float().mean()), 'samples': int(n)}
        save_checkpoint(1, [out], b'')
        progress(1, 1, metrics['loss'])
        finish(json.dumps({'format': 'povchain-predictions', 'version': 1, 'classes': [int(c) for c in pred]}, separators=(',', ':')).encode(), metrics, 1)
    else:
        fail('COMPUTE_INVALID_SPEC', 'kind must be train or infer, not %s' % spec['kind'])

if __name__ == '__main__':
    t0 = time.time()
    try:
        main()
    except SystemExit:
        raise
    except Exception as e:
        fail('COMPUTE_WORKLOAD_FAILED', '%s: %s' % (type(e).__name__, e))
    print('done in %.2f s' % (time.time() - t0))
`
