namespace varpulis::ir {}
