/* A scalar C step with the arithmetic of microgpt's numpy and numba engines: the floor the book's
   engines are measured against. It is a benchmark, not part of the package: benchmarks/engines.py
   compiles it with the machine's cc, runs it on the same documents from the same weights as the
   engines, and prints its losses' distance from the plain engine's next to its time.

   train_steps() runs `count` training steps, from step `first` of `num_steps`, on the documents
   given as one array of token ids (`tokens`, document k from starts[k] to starts[k + 1]), and
   writes each step's loss. The weights, gradients and Adam's moments are flat arrays laid out as
   microgpt.vectorized.Weights lays them out: wte, wpe, lm_head, then each layer's wq, wk, wv, wo,
   mlp_fc1 and mlp_fc2, each matrix row by row. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void rmsnorm(int n, int d, const double *x, double *y, double *s) {
    for (int t = 0; t < n; t++) {
        double ms = 0.0;
        for (int j = 0; j < d; j++) ms += x[t * d + j] * x[t * d + j];
        double st = pow(ms / d + 1e-5, -0.5);
        s[t] = st;
        for (int j = 0; j < d; j++) y[t * d + j] = x[t * d + j] * st;
    }
}

static void rmsnorm_back(int n, int d, const double *dy, const double *y, const double *s, double *dx) {
    for (int t = 0; t < n; t++) {
        double dot = 0.0;
        for (int j = 0; j < d; j++) dot += dy[t * d + j] * y[t * d + j];
        dot /= d;
        for (int j = 0; j < d; j++) dx[t * d + j] += s[t] * (dy[t * d + j] - y[t * d + j] * dot);
    }
}

/* y = x @ w.T for x (n, din), w (dout, din) */
static void linear(int n, int din, int dout, const double *x, const double *w, double *y) {
    for (int t = 0; t < n; t++)
        for (int i = 0; i < dout; i++) {
            double acc = 0.0;
            for (int j = 0; j < din; j++) acc += w[i * din + j] * x[t * din + j];
            y[t * dout + i] = acc;
        }
}

/* g += dy.T @ x; dx += dy @ w */
static void linear_back(int n, int din, int dout, const double *dy, const double *x, const double *w,
                        double *g, double *dx) {
    for (int t = 0; t < n; t++)
        for (int i = 0; i < dout; i++) {
            double gi = dy[t * dout + i];
            if (gi != 0.0)
                for (int j = 0; j < din; j++) {
                    g[i * din + j] += gi * x[t * din + j];
                    dx[t * din + j] += gi * w[i * din + j];
                }
        }
}

static double step(double *flat, double *grad, double *m, double *v, const long *tok, int n, int nparams,
                   int vocab, int block, int d, int nh, int nl, double lr_t, double b1, double b2,
                   double eps, double d1, double d2, double *buf) {
    int hd = d / nh, per = 12 * d * d, d3 = 3 * d, d4 = 4 * d;
    memset(grad, 0, sizeof(double) * nparams);
    double *wte = flat, *wpe = flat + vocab * d, *lm = flat + vocab * d + block * d;
    double *gwte = grad, *gwpe = grad + vocab * d, *glm = grad + vocab * d + block * d;
    int base = 2 * vocab * d + block * d;
    /* the activations each layer keeps for the backward pass */
    double *x0 = buf, *s0 = x0 + n * d, *xs = s0 + n;           /* xs: (nl + 1, n, d) */
    double *xas = xs + (nl + 1) * n * d, *sas = xas + nl * n * d;
    double *qkvs = sas + nl * n, *atts = qkvs + nl * n * d3, *outs = atts + nl * nh * n * n;
    double *x1s = outs + nl * n * d, *xms = x1s + nl * n * d, *sms = xms + nl * n * d;
    double *hs = sms + nl * n, *rs = hs + nl * n * d4, *y = rs + nl * n * d4;
    double *logits = y + n * d, *dx = logits + n * vocab, *dy = dx + n * d, *dxm = dy + n * d4;
    double *dout = dxm + n * d, *dqkv = dout + n * d, *datt = dqkv + n * d3, *dx0 = datt + n;
    double scale = pow(sqrt((double)hd), -1);
    for (int t = 0; t < n; t++)
        for (int j = 0; j < d; j++) x0[t * d + j] = wte[tok[t] * d + j] + wpe[t * d + j];
    rmsnorm(n, d, x0, xs, s0);
    for (int li = 0; li < nl; li++) {
        double *w = flat + base + li * per;
        double *wqkv = w, *wo = w + 3 * d * d, *fc1 = w + 4 * d * d, *fc2 = w + 8 * d * d;
        double *x = xs + li * n * d, *xa = xas + li * n * d, *qkv = qkvs + li * n * d3;
        double *att = atts + li * nh * n * n, *out = outs + li * n * d, *x1 = x1s + li * n * d;
        double *xm = xms + li * n * d, *h = hs + li * n * d4, *r = rs + li * n * d4;
        rmsnorm(n, d, x, xa, sas + li * n);
        linear(n, d, d3, xa, wqkv, qkv);
        for (int hh = 0; hh < nh; hh++)
            for (int t = 0; t < n; t++) {
                double *a = att + (hh * n + t) * n, mx = -INFINITY, tot = 0.0;
                for (int s = 0; s <= t; s++) {
                    double acc = 0.0;
                    for (int j = 0; j < hd; j++) acc += qkv[t * d3 + hh * hd + j] * qkv[s * d3 + d + hh * hd + j];
                    a[s] = acc * scale;
                    if (a[s] > mx) mx = a[s];
                }
                for (int s = 0; s <= t; s++) { a[s] = exp(a[s] - mx); tot += a[s]; }
                for (int s = 0; s <= t; s++) a[s] /= tot;
                for (int j = 0; j < hd; j++) {
                    double acc = 0.0;
                    for (int s = 0; s <= t; s++) acc += a[s] * qkv[s * d3 + 2 * d + hh * hd + j];
                    out[t * d + hh * hd + j] = acc;
                }
            }
        linear(n, d, d, out, wo, y);
        for (int i = 0; i < n * d; i++) x1[i] = x[i] + y[i];
        rmsnorm(n, d, x1, xm, sms + li * n);
        linear(n, d, d4, xm, fc1, h);
        for (int i = 0; i < n * d4; i++) r[i] = h[i] > 0 ? h[i] : 0.0;
        linear(n, d4, d, r, fc2, y);
        for (int i = 0; i < n * d; i++) xs[(li + 1) * n * d + i] = x1[i] + y[i];
    }
    double *x = xs + nl * n * d, loss = 0.0;
    linear(n, d, vocab, x, lm, logits);
    for (int t = 0; t < n; t++) {
        double *p = logits + t * vocab, mx = -INFINITY, tot = 0.0;
        for (int c = 0; c < vocab; c++) if (p[c] > mx) mx = p[c];
        for (int c = 0; c < vocab; c++) { p[c] = exp(p[c] - mx); tot += p[c]; }
        for (int c = 0; c < vocab; c++) p[c] /= tot;
        loss -= log(p[tok[t + 1]]);
        p[tok[t + 1]] -= 1.0;
        for (int c = 0; c < vocab; c++) p[c] *= 1.0 / n;
    }
    loss /= n;
    memset(dx, 0, sizeof(double) * n * d);
    linear_back(n, d, vocab, logits, x, lm, glm, dx);
    for (int li = nl - 1; li >= 0; li--) {
        double *w = flat + base + li * per, *g = grad + base + li * per;
        double *xa = xas + li * n * d, *qkv = qkvs + li * n * d3, *att = atts + li * nh * n * n;
        double *out = outs + li * n * d, *xm = xms + li * n * d, *h = hs + li * n * d4, *r = rs + li * n * d4;
        memset(dy, 0, sizeof(double) * n * d4);
        linear_back(n, d4, d, dx, r, w + 8 * d * d, g + 8 * d * d, dy);
        for (int i = 0; i < n * d4; i++) if (h[i] <= 0) dy[i] = 0.0;
        memset(dxm, 0, sizeof(double) * n * d);
        linear_back(n, d, d4, dy, xm, w + 4 * d * d, g + 4 * d * d, dxm);
        rmsnorm_back(n, d, dxm, xm, sms + li * n, dx);
        memset(dout, 0, sizeof(double) * n * d);
        linear_back(n, d, d, dx, out, w + 3 * d * d, g + 3 * d * d, dout);
        memset(dqkv, 0, sizeof(double) * n * d3);
        for (int hh = 0; hh < nh; hh++)
            for (int t = 0; t < n; t++) {
                double *a = att + (hh * n + t) * n, dotp = 0.0;
                for (int s = 0; s <= t; s++) {
                    double acc = 0.0;
                    for (int j = 0; j < hd; j++) acc += dout[t * d + hh * hd + j] * qkv[s * d3 + 2 * d + hh * hd + j];
                    datt[s] = acc;
                    dotp += acc * a[s];
                }
                for (int s = 0; s <= t; s++) {
                    double ds = a[s] * (datt[s] - dotp) * scale;
                    for (int j = 0; j < hd; j++) {
                        int q = hh * hd + j;
                        dqkv[t * d3 + q] += ds * qkv[s * d3 + d + q];
                        dqkv[s * d3 + d + q] += ds * qkv[t * d3 + q];
                        dqkv[s * d3 + 2 * d + q] += a[s] * dout[t * d + q];
                    }
                }
            }
        memset(dxm, 0, sizeof(double) * n * d);
        linear_back(n, d, d3, dqkv, xa, w, g, dxm);
        rmsnorm_back(n, d, dxm, xa, sas + li * n, dx);
    }
    memset(dx0, 0, sizeof(double) * n * d);
    rmsnorm_back(n, d, dx, xs, s0, dx0);
    for (int t = 0; t < n; t++)
        for (int j = 0; j < d; j++) { gwte[tok[t] * d + j] += dx0[t * d + j]; gwpe[t * d + j] += dx0[t * d + j]; }
    double c1 = 1 - b1, c2 = 1 - b2;
    for (int i = 0; i < nparams; i++) {
        double gi = grad[i];
        m[i] = b1 * m[i] + c1 * gi;
        v[i] = b2 * v[i] + c2 * gi * gi;
        flat[i] -= lr_t * (m[i] / d1) / (sqrt(v[i] / d2) + eps);
    }
    return loss;
}

int train_steps(double *flat, double *grad, double *m, double *v, const long *tokens, const long *starts,
                int ndocs, int first, int count, int num_steps, int nparams, int vocab, int block, int d,
                int nh, int nl, double lr, double b1, double b2, double eps, double *losses) {
    size_t n = block;  /* the buffers of step(), for the longest document */
    size_t size = n * d * (14 + 16 * nl) + n * (2 + 2 * nl) + nl * nh * n * n + n * vocab;
    double *buf = malloc(sizeof(double) * size);
    if (!buf) return 1;
    for (int k = 0; k < count; k++) {
        int s = first + k;
        const long *tok = tokens + starts[s % ndocs];
        int len = (int)(starts[s % ndocs + 1] - starts[s % ndocs]) - 1;
        int npos = len < block ? len : block;
        double lr_t = lr * (1 - (double)s / num_steps);
        losses[k] = step(flat, grad, m, v, tok, npos, nparams, vocab, block, d, nh, nl, lr_t, b1, b2, eps,
                         1 - pow(b1, s + 1), 1 - pow(b2, s + 1), buf);
    }
    free(buf);
    return 0;
}
