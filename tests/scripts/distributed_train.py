"""Two steps of distributed training on the gloo backend on the CPU (RANK, WORLD_SIZE,
MASTER_ADDR/PORT from the environment, as torchrun sets them): argv[2] picks the wrapper,
``ddp`` (DistributedDataParallel: all-reduced gradients) or ``fsdp`` (``fully_shard``,
FSDP2: each rank keeps its shard). Saves each rank's (local) gradient of every parameter
after the last backward to argv[1]."""

import sys

import torch
import torch.distributed as dist

dist.init_process_group("gloo")
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
if sys.argv[2] == "fsdp":
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    mesh = init_device_mesh("cpu", (dist.get_world_size(),))
    for layer in (model[0], model[2]):
        fully_shard(layer, mesh=mesh)
    fully_shard(model, mesh=mesh)
else:
    model = torch.nn.parallel.DistributedDataParallel(model)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
torch.manual_seed(1 + dist.get_rank())  # each rank its own data: the reduction matters
for step in range(2):
    opt.zero_grad()
    loss = model(torch.randn(5, 4)).pow(2).mean()
    loss.backward()
    if step == 0:
        opt.step()
local = [p.grad.to_local() if hasattr(p.grad, "to_local") else p.grad for p in model.parameters()]
torch.save([g.clone() for g in local], sys.argv[1])
dist.destroy_process_group()
