# How the PyTorch reference numbers in src/optim.test.ts, src/schedule.test.ts and src/loss.test.ts were made.
# Run with Debian's python3-torch (PyTorch 1.13): /usr/bin/python3 scripts/torch_reference.py
# Prints JSON; the tests hold the numbers inline, so neither CI nor users need torch.
import json, torch
torch.set_default_dtype(torch.float64)
p0 = [0.5, -1.0, 2.0]
grads = [[0.1, -0.2, 0.3], [0.4, 0.1, -0.5], [-0.3, 0.2, 0.05], [0.2, 0.2, 0.2]]
cases = {
  'sgd': (torch.optim.SGD, dict(lr=0.1)),
  'sgd_momentum': (torch.optim.SGD, dict(lr=0.1, momentum=0.9)),
  'sgd_momentum_dampening_wd': (torch.optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.01)),
  'sgd_nesterov_wd': (torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.05)),
  'adam': (torch.optim.Adam, dict(lr=0.01)),
  'adam_wd_betas': (torch.optim.Adam, dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
  'adam_amsgrad': (torch.optim.Adam, dict(lr=0.01, amsgrad=True)),
  'adamw': (torch.optim.AdamW, dict(lr=0.01)),
  'adamw_wd': (torch.optim.AdamW, dict(lr=0.05, weight_decay=0.3)),
}
out = {}
for name, (cls, kw) in cases.items():
  p = torch.nn.Parameter(torch.tensor(p0))
  opt = cls([p], **kw)
  traj = []
  for g in grads:
    p.grad = torch.tensor(g); opt.step(); traj.append([round(v, 12) for v in p.detach().tolist()])
  out[name] = traj
sched = {}
def lrs(make, n, mom=False):
  p = torch.nn.Parameter(torch.zeros(1))
  opt = torch.optim.SGD([p], lr=0.1, momentum=0.9)
  s = make(opt); r = []
  for _ in range(n):
    r.append([opt.param_groups[0]['lr'], opt.param_groups[0]['momentum']] if mom else opt.param_groups[0]['lr'])
    opt.step(); s.step()
  return r
sched['step'] = lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5), 8)
sched['cosine'] = lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=5, eta_min=0.001), 6)
sched['onecycle'] = lrs(lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=10), 10, True)
sched['onecycle_linear_3'] = lrs(lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=10, anneal_strategy='linear', three_phase=True), 10, True)
out['schedules'] = sched
print(json.dumps(out))
# AMSGrad only differs once the second moment falls: a large gradient, then small ones.
p = torch.nn.Parameter(torch.tensor(p0)); opt = torch.optim.Adam([p], lr=0.01, amsgrad=True); t2 = []
for g in [[1.0, -2.0, 0.5], [0.01, 0.01, 0.01], [0.01, -0.01, 0.02], [0.0, 0.01, 0.01]]:
  p.grad = torch.tensor(g); opt.step(); t2.append([round(v, 12) for v in p.detach().tolist()])
print(json.dumps({'amsgrad_falling': t2}))

# Cross-entropy value and gradient (src/loss.test.ts), float64.
import torch.nn.functional as F
z = torch.tensor([[1., 2., 3.], [1000., -1000., 0.], [-2., 0.5, 0.5]], requires_grad=True)
l = F.cross_entropy(z, torch.tensor([2, 0, 1])); l.backward()
print(json.dumps({'cross_entropy': l.item(), 'grad': z.grad.tolist()}))
