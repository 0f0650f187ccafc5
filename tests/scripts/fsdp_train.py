"""Two steps of FSDP training (``fully_shard``, FSDP2) on the gloo backend on the CPU (RANK,
WORLD_SIZE, MASTER_ADDR/PORT from the environment, as torchrun sets them); saves each rank's
shard of every parameter's gradient after the last backward to argv[1]."""

import sys

import torch
import torch.distributed as dist
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import fully_shard

dist.init_process_group("gloo")
mesh = init_device_mesh("cpu", (dist.get_world_size(),))
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
for layer in (model[0], model[2]):
    fully_shard(layer, mesh=mesh)
fully_shard(model, mesh=mesh)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
torch.manual_seed(1 + dist.get_rank())  # each rank its own data: the reduce-scatter matters
for step in range(2):
    opt.zero_grad()
    loss = model(torch.randn(5, 4)).pow(2).mean()
    loss.backward()
    if step == 0:
        opt.step()
torch.save([p.grad.to_local().clone() for p in model.parameters()], sys.argv[1])
dist.destroy_process_group()
