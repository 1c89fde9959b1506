-- Wireshark dissector for vfio-user (https://www.qemu.org/docs/master/interop/vfio-user.html),
-- shipped with vfio-user-rx. It decodes the pcapng captures `vfio-user tap --pcap FILE` writes:
--
--   link type      LINKTYPE_USER0 (147, WTAP_ENCAP_USER0): one vfio-user message per packet,
--                  header and payload exactly as they went over the socket
--   direction      epb_flags: outbound (2) = client to server, inbound (1) = server to client
--   fds            the packet comment: fds=memfd:NAME/0xSIZE,eventfd,socket
--   interfaces     one per conversation and socket: "session N main" or "session N twin"
--
-- Every command of the protocol is decoded (header, each command's request and reply fields),
-- requests and replies are matched by message id within their interface ("Reply in" on requests
-- needs two passes: tshark -2 -Y vfio_user), and errors are shown as errno names.
--
--   wireshark -X lua_script:dissector/vfio-user.lua capture.pcapng
--   tshark -2 -Y vfio_user -V -X lua_script:dissector/vfio-user.lua -r capture.pcapng
--   or copy it to ~/.local/lib/wireshark/plugins/
--
-- Tested with Wireshark 4.0 (Debian 12's tshark 4.0.17); it uses wtap_encaps where newer versions have it.

local vfio = Proto("vfio_user", "vfio-user")

local COMMANDS = {
  [1] = "VERSION", [2] = "DMA_MAP", [3] = "DMA_UNMAP", [4] = "DEVICE_GET_INFO",
  [5] = "DEVICE_GET_REGION_INFO", [6] = "DEVICE_GET_REGION_IO_FDS", [7] = "DEVICE_GET_IRQ_INFO",
  [8] = "DEVICE_SET_IRQS", [9] = "REGION_READ", [10] = "REGION_WRITE", [11] = "DMA_READ",
  [12] = "DMA_WRITE", [13] = "DEVICE_RESET", [14] = "DIRTY_PAGES (obsolete)", [15] = "REGION_WRITE_MULTI",
  [16] = "DEVICE_FEATURE", [17] = "MIG_DATA_READ", [18] = "MIG_DATA_WRITE",
}

local ERRNO = {
  [1] = "EPERM", [2] = "ENOENT", [3] = "ESRCH", [4] = "EINTR", [5] = "EIO", [6] = "ENXIO",
  [7] = "E2BIG", [8] = "ENOEXEC", [9] = "EBADF", [10] = "ECHILD", [11] = "EAGAIN", [12] = "ENOMEM",
  [13] = "EACCES", [14] = "EFAULT", [16] = "EBUSY", [17] = "EEXIST", [18] = "EXDEV", [19] = "ENODEV",
  [20] = "ENOTDIR", [21] = "EISDIR", [22] = "EINVAL", [23] = "ENFILE", [24] = "EMFILE",
  [25] = "ENOTTY", [26] = "ETXTBSY", [27] = "EFBIG", [28] = "ENOSPC", [29] = "ESPIPE",
  [30] = "EROFS", [31] = "EMLINK", [32] = "EPIPE", [33] = "EDOM", [34] = "ERANGE", [35] = "EDEADLK",
  [36] = "ENAMETOOLONG", [37] = "ENOLCK", [38] = "ENOSYS", [39] = "ENOTEMPTY", [40] = "ELOOP",
  [42] = "ENOMSG", [43] = "EIDRM", [60] = "ENOSTR", [61] = "ENODATA", [62] = "ETIME", [63] = "ENOSR",
  [67] = "ENOLINK", [71] = "EPROTO", [72] = "EMULTIHOP", [74] = "EBADMSG", [75] = "EOVERFLOW",
  [84] = "EILSEQ", [88] = "ENOTSOCK", [89] = "EDESTADDRREQ", [90] = "EMSGSIZE", [91] = "EPROTOTYPE",
  [92] = "ENOPROTOOPT", [93] = "EPROTONOSUPPORT", [95] = "EOPNOTSUPP", [97] = "EAFNOSUPPORT",
  [98] = "EADDRINUSE", [99] = "EADDRNOTAVAIL", [100] = "ENETDOWN", [101] = "ENETUNREACH",
  [102] = "ENETRESET", [103] = "ECONNABORTED", [104] = "ECONNRESET", [105] = "ENOBUFS",
  [106] = "EISCONN", [107] = "ENOTCONN", [110] = "ETIMEDOUT", [111] = "ECONNREFUSED",
  [113] = "EHOSTUNREACH", [114] = "EALREADY", [115] = "EINPROGRESS", [116] = "ESTALE",
  [122] = "EDQUOT", [125] = "ECANCELED",
}

local TYPES = { [0] = "command", [1] = "reply" }
local REGIONS = { [0] = "BAR0", [1] = "BAR1", [2] = "BAR2", [3] = "BAR3", [4] = "BAR4", [5] = "BAR5",
  [6] = "ROM", [7] = "CONFIG", [8] = "VGA" }
local IRQS = { [0] = "INTx", [1] = "MSI", [2] = "MSI-X", [3] = "ERR", [4] = "REQ" }
local FEATURES = { [1] = "MIGRATION", [2] = "MIG_DEVICE_STATE", [6] = "DMA_LOGGING_START",
  [7] = "DMA_LOGGING_STOP", [8] = "DMA_LOGGING_REPORT" }
local MIG_STATES = { [0] = "ERROR", [1] = "STOP", [2] = "RUNNING", [3] = "STOP_COPY", [4] = "RESUMING",
  [5] = "RUNNING_P2P", [6] = "PRE_COPY", [7] = "PRE_COPY_P2P" }
local REGION_CAPS = { [1] = "SPARSE_MMAP", [2] = "TYPE", [3] = "MSIX_MAPPABLE" }
local IO_FD_TYPES = { [0] = "IOEVENTFD", [1] = "IOREGIONFD", [2] = "IOEVENTFD_SHADOW" }

local F = {}
local function field(name, f) F[name] = f; return f end
local function u32(name, label, vs, mask) return field(name, ProtoField.uint32("vfio_user." .. name, label, base.HEX, vs, mask)) end
local function dec32(name, label, vs) return field(name, ProtoField.uint32("vfio_user." .. name, label, base.DEC, vs)) end
local function u64(name, label) return field(name, ProtoField.uint64("vfio_user." .. name, label, base.HEX)) end
local function flag(name, label, mask) return field(name, ProtoField.bool("vfio_user." .. name, label, 32, nil, mask)) end

field("msg_id", ProtoField.uint16("vfio_user.msg_id", "Message ID", base.HEX))
field("command", ProtoField.uint16("vfio_user.command", "Command", base.DEC, COMMANDS))
field("msg_size", ProtoField.uint32("vfio_user.msg_size", "Message size", base.DEC))
u32("flags", "Flags")
field("type", ProtoField.uint32("vfio_user.flags.type", "Type", base.DEC, TYPES, 0xf))
flag("flags.no_reply", "No_reply", 0x10)
flag("flags.error", "Error", 0x20)
local ERRNO_OR_NONE = { [0] = "none" }
for k, v in pairs(ERRNO) do ERRNO_OR_NONE[k] = v end
field("error_no", ProtoField.uint32("vfio_user.error_no", "Error", base.DEC, ERRNO_OR_NONE))
field("errno_name", ProtoField.string("vfio_user.errno_name", "Errno name"))
field("response_in", ProtoField.framenum("vfio_user.response_in", "Reply in", base.NONE, frametype.RESPONSE))
field("response_to", ProtoField.framenum("vfio_user.response_to", "Reply to", base.NONE, frametype.REQUEST))
field("time", ProtoField.double("vfio_user.time", "Time since request (s)"))
field("fds", ProtoField.string("vfio_user.fds", "File descriptors"))
field("payload", ProtoField.bytes("vfio_user.payload", "Payload"))
field("data", ProtoField.bytes("vfio_user.data", "Data"))
-- VERSION
field("major", ProtoField.uint16("vfio_user.version.major", "Major", base.DEC))
field("minor", ProtoField.uint16("vfio_user.version.minor", "Minor", base.DEC))
field("json", ProtoField.string("vfio_user.version.json", "Capabilities (JSON)"))
-- common
dec32("argsz", "argsz")
u32("pflags", "flags")
u64("offset", "offset")
u64("address", "address")
u64("size", "size")
dec32("count", "count")
u64("count64", "count")
field("region", ProtoField.uint32("vfio_user.region", "region", base.DEC, REGIONS))
field("index", ProtoField.uint32("vfio_user.index", "index", base.DEC))
dec32("num_regions", "num_regions")
dec32("num_irqs", "num_irqs")
u32("cap_offset", "cap_offset")
dec32("start", "start")
-- DMA_MAP/UNMAP flags
flag("dma.read", "READ", 0x1)
flag("dma.write", "WRITE", 0x2)
flag("unmap.dirty_bitmap", "GET_DIRTY_BITMAP", 0x1)
flag("unmap.all", "ALL", 0x2)
u64("bitmap.pgsize", "bitmap pgsize")
u64("bitmap.size", "bitmap size")
-- device, region, irq flags
flag("device.reset", "RESET", 0x1)
flag("device.pci", "PCI", 0x2)
flag("region.read", "READ", 0x1)
flag("region.write", "WRITE", 0x2)
flag("region.mmap", "MMAP", 0x4)
flag("region.caps", "CAPS", 0x8)
field("cap.id", ProtoField.uint16("vfio_user.cap.id", "capability id", base.DEC, REGION_CAPS))
field("cap.version", ProtoField.uint16("vfio_user.cap.version", "capability version", base.DEC))
u32("cap.next", "next")
dec32("sparse.nr_areas", "nr_areas")
u32("cap.type", "type")
u32("cap.subtype", "subtype")
flag("irq.eventfd", "EVENTFD", 0x1)
flag("irq.maskable", "MASKABLE", 0x2)
flag("irq.automasked", "AUTOMASKED", 0x4)
flag("irq.noresize", "NORESIZE", 0x8)
field("irq.index", ProtoField.uint32("vfio_user.irq.index", "index", base.DEC, IRQS))
flag("set.data_none", "DATA_NONE", 0x1)
flag("set.data_bool", "DATA_BOOL", 0x2)
flag("set.data_eventfd", "DATA_EVENTFD", 0x4)
flag("set.action_mask", "ACTION_MASK", 0x8)
flag("set.action_unmask", "ACTION_UNMASK", 0x10)
flag("set.action_trigger", "ACTION_TRIGGER", 0x20)
-- IO_FDS entries
dec32("io.fd_index", "fd_index")
field("io.type", ProtoField.uint32("vfio_user.io.type", "type", base.DEC, IO_FD_TYPES))
u32("io.flags", "flags")
u64("io.datamatch", "datamatch / user_data")
-- WRITE_MULTI
field("wr_cnt", ProtoField.uint64("vfio_user.wr_cnt", "wr_cnt", base.DEC))
-- DEVICE_FEATURE
field("feature", ProtoField.uint32("vfio_user.feature", "feature", base.DEC, FEATURES, 0xffff))
flag("feature.get", "GET", 0x10000)
flag("feature.set", "SET", 0x20000)
flag("feature.probe", "PROBE", 0x40000)
u64("mig.flags", "migration flags")
field("mig.device_state", ProtoField.uint32("vfio_user.mig.device_state", "device_state", base.DEC, MIG_STATES))
u32("mig.data_fd", "data_fd")
u64("log.page_size", "page_size")
dec32("log.num_ranges", "num_ranges")
u64("log.iova", "iova")
u64("log.length", "length")

local list = {}
for _, f in pairs(F) do list[#list + 1] = f end
vfio.fields = list

local ex_error = ProtoExpert.new("vfio_user.expert.error", "Error reply", expert.group.RESPONSE_CODE, expert.severity.WARN)
local ex_short = ProtoExpert.new("vfio_user.expert.short", "Message shorter than its layout", expert.group.MALFORMED, expert.severity.ERROR)
local ex_size = ProtoExpert.new("vfio_user.expert.size", "msg_size does not match the captured length", expert.group.MALFORMED, expert.severity.ERROR)
vfio.experts = { ex_error, ex_short, ex_size }

local f_iface = Field.new("frame.interface_id")
local f_dir = Field.new("frame.packet_flags_direction")
local f_comment = Field.new("frame.comment")

-- First pass: requests waiting for their reply, by interface, direction, id and command.
local waiting, matched, sent_at = {}, {}, {}
function vfio.init()
  waiting, matched, sent_at = {}, {}, {}
end

local function hex(v) return string.format("0x%x", v) end
local function hex64(tvb) return "0x" .. tvb:le_uint64():tohex():gsub("^0+(.)", "%1") end

-- Each decoder: (tvb of the payload, tree, info words) -> adds fields; returns nothing.
local function need(p, n, tree)
  if p:len() < n then tree:add_proto_expert_info(ex_short, "needs " .. n .. " bytes, has " .. p:len()); return false end
  return true
end

local function data(p, at, tree, n)
  local left = p:len() - at
  if n == nil or n > left then n = left end
  if n > 0 then tree:add(F.data, p(at, n)) end
end

local function flags_tree(p, at, tree, bits)
  local t = tree:add_le(F.pflags, p(at, 4))
  for _, b in ipairs(bits) do t:add_le(b, p(at, 4)) end
end

local function version(p, tree, info)
  if not need(p, 4, tree) then return end
  tree:add_le(F.major, p(0, 2)); tree:add_le(F.minor, p(2, 2))
  info[#info + 1] = string.format("version=%d.%d", p(0, 2):le_uint(), p(2, 2):le_uint())
  if p:len() > 4 then tree:add(F.json, p(4, p:len() - 4)) end
end

local function dma_map(p, tree, info)
  if not need(p, 32, tree) then return end
  tree:add_le(F.argsz, p(0, 4)); flags_tree(p, 4, tree, { F["dma.read"], F["dma.write"] })
  tree:add_le(F.offset, p(8, 8)); tree:add_le(F.address, p(16, 8)); tree:add_le(F.size, p(24, 8))
  info[#info + 1] = "address=" .. hex64(p(16, 8)) .. " size=" .. hex64(p(24, 8))
end

local function dma_unmap(p, tree, info)
  if not need(p, 24, tree) then return end
  tree:add_le(F.argsz, p(0, 4)); flags_tree(p, 4, tree, { F["unmap.dirty_bitmap"], F["unmap.all"] })
  tree:add_le(F.address, p(8, 8)); tree:add_le(F.size, p(16, 8))
  info[#info + 1] = "address=" .. hex64(p(8, 8)) .. " size=" .. hex64(p(16, 8))
  if p:len() >= 40 then
    tree:add_le(F["bitmap.pgsize"], p(24, 8)); tree:add_le(F["bitmap.size"], p(32, 8)); data(p, 40, tree)
  end
end

local function device_info(p, tree, info)
  if not need(p, 16, tree) then return end
  tree:add_le(F.argsz, p(0, 4)); flags_tree(p, 4, tree, { F["device.reset"], F["device.pci"] })
  tree:add_le(F.num_regions, p(8, 4)); tree:add_le(F.num_irqs, p(12, 4))
  if p(8, 4):le_uint() > 0 then info[#info + 1] = string.format("num_regions=%d num_irqs=%d", p(8, 4):le_uint(), p(12, 4):le_uint()) end
end

local function region_caps(p, tree)
  local seen, at = 0, p(12, 4):le_uint()
  while at ~= 0 and at + 8 <= p:len() and seen < 64 do
    local id = p(at, 2):le_uint()
    local t = tree:add(vfio, p(at, 8), "Capability " .. (REGION_CAPS[id] or id))
    t:add_le(F["cap.id"], p(at, 2)); t:add_le(F["cap.version"], p(at + 2, 2)); t:add_le(F["cap.next"], p(at + 4, 4))
    if id == 1 and at + 16 <= p:len() then
      local n = p(at + 8, 4):le_uint()
      t:add_le(F["sparse.nr_areas"], p(at + 8, 4))
      for i = 0, n - 1 do
        local a = at + 16 + 16 * i
        if a + 16 > p:len() then break end
        local area = t:add(vfio, p(a, 16), "Area " .. i)
        area:add_le(F.offset, p(a, 8)); area:add_le(F.size, p(a + 8, 8))
      end
    elseif id == 2 and at + 16 <= p:len() then
      t:add_le(F["cap.type"], p(at + 8, 4)); t:add_le(F["cap.subtype"], p(at + 12, 4))
    end
    local next = p(at + 4, 4):le_uint()
    if next <= at then break end
    at, seen = next, seen + 1
  end
end

local function region_info(p, tree, info, reply)
  if not need(p, 32, tree) then return end
  tree:add_le(F.argsz, p(0, 4))
  flags_tree(p, 4, tree, { F["region.read"], F["region.write"], F["region.mmap"], F["region.caps"] })
  tree:add_le(F.region, p(8, 4)); tree:add_le(F.cap_offset, p(12, 4))
  tree:add_le(F.size, p(16, 8)); tree:add_le(F.offset, p(24, 8))
  info[#info + 1] = "index=" .. p(8, 4):le_uint()
  if reply then
    info[#info + 1] = "size=" .. hex64(p(16, 8))
    region_caps(p, tree)
  end
end

local function io_fds(p, tree, info, reply)
  if not need(p, 16, tree) then return end
  tree:add_le(F.argsz, p(0, 4)); tree:add_le(F.pflags, p(4, 4)); tree:add_le(F.region, p(8, 4)); tree:add_le(F.count, p(12, 4))
  info[#info + 1] = "index=" .. p(8, 4):le_uint() .. " count=" .. p(12, 4):le_uint()
  local count = p(12, 4):le_uint()
  if not reply or count == 0 or p:len() <= 16 then return end
  -- The spec's entries are 40 bytes, libvfio-user's 48: the stride tells them apart.
  local stride = math.floor((p:len() - 16) / count)
  for i = 0, count - 1 do
    local a = 16 + stride * i
    if a + 40 > p:len() then break end
    local e = tree:add(vfio, p(a, stride), "Entry " .. i)
    e:add_le(F.offset, p(a, 8)); e:add_le(F.size, p(a + 8, 8)); e:add_le(F["io.fd_index"], p(a + 16, 4))
    e:add_le(F["io.type"], p(a + 20, 4)); e:add_le(F["io.flags"], p(a + 24, 4))
    e:add_le(F["io.datamatch"], p(a + (stride >= 48 and 40 or 32), 8))
  end
end

local function irq_info(p, tree, info)
  if not need(p, 16, tree) then return end
  tree:add_le(F.argsz, p(0, 4))
  flags_tree(p, 4, tree, { F["irq.eventfd"], F["irq.maskable"], F["irq.automasked"], F["irq.noresize"] })
  tree:add_le(F["irq.index"], p(8, 4)); tree:add_le(F.count, p(12, 4))
  info[#info + 1] = "index=" .. (IRQS[p(8, 4):le_uint()] or p(8, 4):le_uint()) .. " count=" .. p(12, 4):le_uint()
end

local function set_irqs(p, tree, info)
  if not need(p, 20, tree) then return end
  tree:add_le(F.argsz, p(0, 4))
  flags_tree(p, 4, tree, { F["set.data_none"], F["set.data_bool"], F["set.data_eventfd"],
    F["set.action_mask"], F["set.action_unmask"], F["set.action_trigger"] })
  tree:add_le(F["irq.index"], p(8, 4)); tree:add_le(F.start, p(12, 4)); tree:add_le(F.count, p(16, 4))
  info[#info + 1] = string.format("index=%s flags=%s start=%d count=%d", IRQS[p(8, 4):le_uint()] or p(8, 4):le_uint(),
    hex(p(4, 4):le_uint()), p(12, 4):le_uint(), p(16, 4):le_uint())
  data(p, 20, tree)
end

local function region_access(p, tree, info)
  if not need(p, 16, tree) then return end
  tree:add_le(F.offset, p(0, 8)); tree:add_le(F.region, p(8, 4)); tree:add_le(F.count, p(12, 4))
  local r = p(8, 4):le_uint()
  info[#info + 1] = string.format("region=%s offset=%s count=%d", REGIONS[r] or r, hex64(p(0, 8)), p(12, 4):le_uint())
  data(p, 16, tree)
end

local function dma_access(p, tree, info)
  if not need(p, 16, tree) then return end
  tree:add_le(F.address, p(0, 8)); tree:add_le(F.count64, p(8, 8))
  info[#info + 1] = "address=" .. hex64(p(0, 8)) .. " count=" .. hex64(p(8, 8))
  data(p, 16, tree)
end

local function write_multi(p, tree, info)
  if not need(p, 8, tree) then return end
  tree:add_le(F.wr_cnt, p(0, 8))
  info[#info + 1] = "wr_cnt=" .. tostring(p(0, 8):le_uint64())
  local n = math.floor((p:len() - 8) / 24)
  for i = 0, n - 1 do
    local a = 8 + 24 * i
    local e = tree:add(vfio, p(a, 24), "Write " .. i)
    e:add_le(F.offset, p(a, 8)); e:add_le(F.region, p(a + 8, 4)); e:add_le(F.count, p(a + 12, 4)); e:add(F.data, p(a + 16, 8))
  end
end

local function feature_data(p, tree, feature)
  if p:len() <= 8 then return end
  if feature == 1 and p:len() >= 16 then
    tree:add_le(F["mig.flags"], p(8, 8))
  elseif feature == 2 and p:len() >= 16 then
    tree:add_le(F["mig.device_state"], p(8, 4)); tree:add_le(F["mig.data_fd"], p(12, 4))
  elseif feature == 6 and p:len() >= 24 then
    tree:add_le(F["log.page_size"], p(8, 8)); tree:add_le(F["log.num_ranges"], p(16, 4))
    for a = 24, p:len() - 16, 16 do
      local r = tree:add(vfio, p(a, 16), "Range")
      r:add_le(F["log.iova"], p(a, 8)); r:add_le(F["log.length"], p(a + 8, 8))
    end
  elseif feature == 8 and p:len() >= 32 then
    tree:add_le(F["log.iova"], p(8, 8)); tree:add_le(F["log.length"], p(16, 8)); tree:add_le(F["log.page_size"], p(24, 8))
    data(p, 32, tree)
  else
    data(p, 8, tree)
  end
end

local function device_feature(p, tree, info)
  if not need(p, 8, tree) then return end
  tree:add_le(F.argsz, p(0, 4))
  local t = tree:add_le(F.pflags, p(4, 4))
  t:add_le(F.feature, p(4, 4)); t:add_le(F["feature.get"], p(4, 4)); t:add_le(F["feature.set"], p(4, 4)); t:add_le(F["feature.probe"], p(4, 4))
  local flags = p(4, 4):le_uint()
  local feature = bit32 and bit32.band(flags, 0xffff) or (flags % 0x10000)
  local ops = {}
  if math.floor(flags / 0x10000) % 2 == 1 then ops[#ops + 1] = "GET" end
  if math.floor(flags / 0x20000) % 2 == 1 then ops[#ops + 1] = "SET" end
  if math.floor(flags / 0x40000) % 2 == 1 then ops[#ops + 1] = "PROBE" end
  info[#info + 1] = (FEATURES[feature] or ("feature " .. feature)) .. " " .. table.concat(ops, "|")
  feature_data(p, tree, feature)
end

local function mig_data(p, tree, info)
  if not need(p, 8, tree) then return end
  tree:add_le(F.argsz, p(0, 4)); tree:add_le(F.count, p(4, 4))
  info[#info + 1] = "size=" .. p(4, 4):le_uint()
  data(p, 8, tree)
end

local none = function() end

-- By command: the request's decoder and the reply's.
local DECODERS = {
  [1] = { version, version },
  [2] = { dma_map, none },
  [3] = { dma_unmap, dma_unmap },
  [4] = { device_info, device_info },
  [5] = { function(p, t, i) region_info(p, t, i, false) end, function(p, t, i) region_info(p, t, i, true) end },
  [6] = { function(p, t, i) io_fds(p, t, i, false) end, function(p, t, i) io_fds(p, t, i, true) end },
  [7] = { irq_info, irq_info },
  [8] = { set_irqs, none },
  [9] = { region_access, region_access },
  [10] = { region_access, region_access },
  [11] = { dma_access, dma_access },
  [12] = { dma_access, dma_access },
  [13] = { none, none },
  [15] = { write_multi, write_multi },
  [16] = { device_feature, device_feature },
  [17] = { mig_data, mig_data },
  [18] = { mig_data, none },
}

-- Pairs a reply with its request (first pass), and shows the pairing.
local function match(pinfo, tree, id, command, reply, no_reply)
  local iface = f_iface() and f_iface().value or 0
  local dir = f_dir() and f_dir().value or 0
  -- A command and its reply travel opposite ways on the same socket.
  local command_dir = reply and (dir == 1 and 2 or 1) or dir
  local key = table.concat({ iface, command_dir, id, command }, ":")
  -- Recorded on the first dissection of a frame, whichever pass that is (tshark -2 skips the first
  -- pass unless a filter needs it: a request shows its reply only when one ran, e.g. with -Y vfio_user).
  if matched[pinfo.number] == nil then
    if not reply and not no_reply then
      waiting[key] = pinfo.number
      sent_at[pinfo.number] = pinfo.abs_ts
    elseif reply and waiting[key] and waiting[key] < pinfo.number then
      matched[pinfo.number] = waiting[key]
      matched[waiting[key]] = pinfo.number
      waiting[key] = nil
    end
  end
  local other = matched[pinfo.number]
  if other == nil then return end
  if reply then
    tree:add(F.response_to, other):set_generated()
    if sent_at[other] then tree:add(F.time, pinfo.abs_ts - sent_at[other]):set_generated() end
  else
    tree:add(F.response_in, other):set_generated()
  end
end

function vfio.dissector(tvb, pinfo, root)
  pinfo.cols.protocol = "vfio-user"
  local tree = root:add(vfio, tvb(), "vfio-user")
  if tvb:len() < 16 then
    tree:add_proto_expert_info(ex_short, "a header is 16 bytes")
    pinfo.cols.info = "short message"
    return
  end
  local id, command = tvb(0, 2):le_uint(), tvb(2, 2):le_uint()
  local size, flags, err = tvb(4, 4):le_uint(), tvb(8, 4):le_uint(), tvb(12, 4):le_uint()
  local kind = flags % 16
  local reply = kind == 1
  local no_reply = math.floor(flags / 0x10) % 2 == 1
  local is_error = math.floor(flags / 0x20) % 2 == 1
  local header = tree:add(vfio, tvb(0, 16), "Header")
  header:add_le(F.msg_id, tvb(0, 2)); header:add_le(F.command, tvb(2, 2)); header:add_le(F.msg_size, tvb(4, 4))
  local ft = header:add_le(F.flags, tvb(8, 4))
  ft:add_le(F.type, tvb(8, 4)); ft:add_le(F["flags.no_reply"], tvb(8, 4)); ft:add_le(F["flags.error"], tvb(8, 4))
  header:add_le(F.error_no, tvb(12, 4))
  if size ~= tvb:len() then tree:add_proto_expert_info(ex_size, string.format("msg_size %d, captured %d", size, tvb:len())) end

  local dir = f_dir() and f_dir().value or 0
  local arrow = dir == 2 and "C->S" or (dir == 1 and "S->C" or "")
  local name = COMMANDS[command] or ("CMD_" .. command)
  local info = { arrow, name, TYPES[kind] or ("type " .. kind), string.format("id=0x%04x", id) }
  if no_reply then info[#info + 1] = "no_reply" end
  match(pinfo, tree, id, command, reply, no_reply)

  local comment = f_comment() and f_comment().value
  if comment and comment:sub(1, 4) == "fds=" then
    tree:add(F.fds, comment:sub(5)):set_generated()
    info[#info + 1] = "fds=" .. comment:sub(5)
  end

  if reply and is_error then
    local errname = ERRNO[err] or ("E" .. err)
    tree:add(F.errno_name, errname):set_generated()
    tree:add_proto_expert_info(ex_error, name .. " failed: " .. errname)
    info[#info + 1] = "error=" .. errname
  elseif tvb:len() > 16 then
    local p = tvb(16):tvb()
    local body = tree:add(vfio, tvb(16), name .. (reply and " reply" or " request"))
    local decoders = DECODERS[command]
    if decoders then decoders[reply and 2 or 1](p, body, info) else body:add(F.payload, tvb(16)) end
  end
  pinfo.cols.info = table.concat(info, " ")
end

local encaps = wtap_encaps or wtap
DissectorTable.get("wtap_encap"):add(encaps.USER0, vfio)
