"""Two steps of DDP training on the gloo backend (RANK, WORLD_SIZE, MASTER_ADDR/PORT from the
environment, as torchrun sets them); saves each parameter's gradient after the last backward
to argv[1]."""

import sys

import torch
import torch.distributed as dist

dist.init_process_group("gloo")
torch.manual_seed(0)
model = torch.nn.parallel.DistributedDataParallel(
    torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1)))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
torch.manual_seed(1 + dist.get_rank())  # each rank its own data: the all-reduce matters
for step in range(2):
    opt.zero_grad()
    loss = model(torch.randn(5, 4)).pow(2).mean()
    loss.backward()
    if step == 0:
        opt.step()
torch.save([p.grad for p in model.parameters()], sys.argv[1])
dist.destroy_process_group()
