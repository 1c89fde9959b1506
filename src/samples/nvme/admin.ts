/**
 * The admin command set (NVMe base specification 1.4, section 5): each command is a step of the
 * controller's state. Most complete at once; Identify and Get Log Page send data to the host first
 * (the engine's 'send' work); an Asynchronous Event Request stays outstanding until an event.
 */
import { MAX_QUEUE_ENTRIES, PAGE_SIZE, Cc } from './registers.js';
import { CommandStatus, GenericStatus, SUCCESS as OK, commandError, genericError, type Submission } from './entries.js';
import { Cns, IDENTIFY_SIZE, activeNamespaces, identifyController, identifyNamespace, namespaceDescriptors } from './identify.js';
import { ERROR_ENTRY_SIZE, LogPage, errorLog, firmwareSlotLog, healthLog } from './logs.js';
import { answer, complete, reportEvents } from './completions.js';
import { criticalWarning, getFeatures, setFeatures } from './features.js';
import { completionQueue, replace, submissionQueue, withWork, type Controller, type ControllerEnv, type Features } from './state.js';

/** Admin opcodes. */
export const AdminOpcode = {
  DELETE_IO_SQ: 0x00,
  CREATE_IO_SQ: 0x01,
  GET_LOG_PAGE: 0x02,
  DELETE_IO_CQ: 0x04,
  CREATE_IO_CQ: 0x05,
  IDENTIFY: 0x06,
  ABORT: 0x08,
  SET_FEATURES: 0x09,
  GET_FEATURES: 0x0a,
  ASYNC_EVENT_REQUEST: 0x0c,
  KEEP_ALIVE: 0x18,
} as const;

const generic = genericError;
const specific = commandError;
const INVALID_FIELD = generic(GenericStatus.INVALID_FIELD);
export { FeatureId } from './features.js';

const NSID_ALL = 0xffffffff;


/** Sends `data` to the command's PRPs, then completes it (in the engine). */
const send = (s: Controller, cmd: Submission, data: Buffer, dw0 = 0): Controller =>
  withWork({ ...s, busy: s.busy + 1 }, { kind: 'send', epoch: s.epoch, sqid: 0, command: cmd, data, dw0 });

const queueId = (cmd: Submission) => cmd.cdw[0] & 0xffff;
const queueSize = (cmd: Submission) => (cmd.cdw[0] >>> 16) + 1;

const createCq = (s: Controller, cmd: Submission, env: ControllerEnv): Controller => {
  const qid = queueId(cmd);
  const size = queueSize(cmd);
  const flags = cmd.cdw[1];
  const vector = flags >>> 16;
  if (qid === 0 || qid > s.features.queues.cq || s.cqs.has(qid)) return answer(s, cmd, specific(CommandStatus.INVALID_QUEUE_IDENTIFIER));
  if (size < 2 || size > MAX_QUEUE_ENTRIES) return answer(s, cmd, specific(CommandStatus.INVALID_QUEUE_SIZE));
  if ((flags & 1) === 0 || Cc.iocqes(s.regs.CC) !== 4) return answer(s, cmd, INVALID_FIELD);
  if (vector >= env.vectors) return answer(s, cmd, specific(CommandStatus.INVALID_INTERRUPT_VECTOR));
  if (cmd.prp1 % PAGE_SIZE !== 0) return answer(s, cmd, generic(GenericStatus.PRP_OFFSET_INVALID));
  const cq = completionQueue(qid, cmd.prp1, size, vector, (flags & 2) !== 0);
  return answer({ ...s, cqs: replace(s.cqs, qid, cq) }, cmd, OK);
};

const createSq = (s: Controller, cmd: Submission): Controller => {
  const qid = queueId(cmd);
  const size = queueSize(cmd);
  const flags = cmd.cdw[1];
  const cqid = flags >>> 16;
  if (qid === 0 || qid > s.features.queues.sq || s.sqs.has(qid)) return answer(s, cmd, specific(CommandStatus.INVALID_QUEUE_IDENTIFIER));
  if (cqid === 0 || !s.cqs.has(cqid)) return answer(s, cmd, specific(CommandStatus.COMPLETION_QUEUE_INVALID));
  if (size < 2 || size > MAX_QUEUE_ENTRIES) return answer(s, cmd, specific(CommandStatus.INVALID_QUEUE_SIZE));
  if ((flags & 1) === 0 || Cc.iosqes(s.regs.CC) !== 6) return answer(s, cmd, INVALID_FIELD);
  if (cmd.prp1 % PAGE_SIZE !== 0) return answer(s, cmd, generic(GenericStatus.PRP_OFFSET_INVALID));
  return answer({ ...s, sqs: replace(s.sqs, qid, submissionQueue(qid, cmd.prp1, size, cqid)) }, cmd, OK);
};

const deleteSq = (s: Controller, cmd: Submission): Controller => {
  const qid = queueId(cmd);
  const sq = s.sqs.get(qid);
  if (qid === 0 || !sq || sq.deleting !== undefined) return answer(s, cmd, specific(CommandStatus.INVALID_QUEUE_IDENTIFIER));
  // Commands still running complete first (to the queue's completion queue); the deletion then.
  if (sq.inflight > 0) return { ...s, sqs: replace(s.sqs, qid, { ...sq, deleting: cmd.cid }) };
  return answer({ ...s, sqs: replace(s.sqs, qid, undefined) }, cmd, OK);
};

/** A submission queue being deleted whose last command finished: it goes, and its Delete completes. */
export const finishDeletion = (s: Controller, sqid: number): Controller => {
  const sq = s.sqs.get(sqid);
  if (!sq || sq.deleting === undefined || sq.inflight > 0) return s;
  return complete({ ...s, sqs: replace(s.sqs, sqid, undefined) }, 0, sq.deleting, OK);
};

const deleteCq = (s: Controller, cmd: Submission): Controller => {
  const qid = queueId(cmd);
  if (qid === 0 || !s.cqs.has(qid)) return answer(s, cmd, specific(CommandStatus.INVALID_QUEUE_IDENTIFIER));
  if ([...s.sqs.values()].some((sq) => sq.cqid === qid)) return answer(s, cmd, specific(CommandStatus.INVALID_QUEUE_DELETION));
  return answer({ ...s, cqs: replace(s.cqs, qid, undefined) }, cmd, OK);
};

/** The largest transfer a command may ask for (MDTS). */
export const maxTransfer = (env: ControllerEnv): number => PAGE_SIZE * 2 ** env.identity.mdts;

const identify = (s: Controller, cmd: Submission, env: ControllerEnv): Controller => {
  const cns = cmd.cdw[0] & 0xff;
  const csi = cmd.cdw[1] >>> 24;
  const badNamespace = () => answer(s, cmd, generic(GenericStatus.INVALID_NAMESPACE));
  switch (cns) {
    case Cns.NAMESPACE:
      if (cmd.nsid === NSID_ALL) return send(s, cmd, identifyNamespace({ ...env.namespace, blocks: 0 }));
      return cmd.nsid === 1 ? send(s, cmd, identifyNamespace(env.namespace)) : badNamespace();
    case Cns.CONTROLLER:
      return send(s, cmd, identifyController(env.identity, { volatileWriteCache: true }));
    case Cns.ACTIVE_NAMESPACES:
      return cmd.nsid >= 0xfffffffe ? badNamespace() : send(s, cmd, activeNamespaces(cmd.nsid));
    case Cns.NAMESPACE_DESCRIPTORS:
      return cmd.nsid === 1 ? send(s, cmd, namespaceDescriptors(env.namespace)) : badNamespace();
    case Cns.CS_NAMESPACE:
      if (csi !== 0) return answer(s, cmd, INVALID_FIELD);
      return cmd.nsid === 1 ? send(s, cmd, Buffer.alloc(IDENTIFY_SIZE)) : badNamespace();
    case Cns.CS_CONTROLLER:
      return csi === 0 ? send(s, cmd, Buffer.alloc(IDENTIFY_SIZE)) : answer(s, cmd, INVALID_FIELD);
    default:
      return answer(s, cmd, INVALID_FIELD);
  }
};

const getLogPage = (s: Controller, cmd: Submission, env: ControllerEnv): Controller => {
  const lid = cmd.cdw[0] & 0xff;
  const retain = (cmd.cdw[0] & (1 << 15)) !== 0;
  const bytes = (((cmd.cdw[1] & 0xffff) * 0x10000 + (cmd.cdw[0] >>> 16)) + 1) * 4;
  const offset = cmd.cdw[3] * 0x1_0000_0000 + cmd.cdw[2];
  if (![0, 1, NSID_ALL].includes(cmd.nsid)) return answer(s, cmd, generic(GenericStatus.INVALID_NAMESPACE));
  const hours = Math.floor((Date.now() - env.born) / 3_600_000);
  const log =
    lid === LogPage.ERROR
      ? errorLog(s.errors, env.identity.errorLogEntries)
      : lid === LogPage.HEALTH
        ? healthLog(s.health, env.temperature, criticalWarning(s, env), hours)
        : lid === LogPage.FIRMWARE_SLOT
          ? firmwareSlotLog(env.identity.firmware)
          : undefined;
  if (!log) return answer(s, cmd, specific(CommandStatus.INVALID_LOG_PAGE));
  if (offset % 4 !== 0 || offset >= log.length || bytes > maxTransfer(env)) return answer(s, cmd, INVALID_FIELD);
  const data = Buffer.alloc(bytes);
  log.copy(data, 0, offset, Math.min(log.length, offset + bytes));
  // Reading a log page (without Retain Asynchronous Event) unmasks its events.
  const unmasked = retain ? s : reportEvents({ ...s, masked: s.masked.filter((l) => l !== lid) });
  return send(unmasked, cmd, data);
};

const asyncEventRequest = (s: Controller, cmd: Submission, env: ControllerEnv): Controller =>
  s.aers.length >= env.identity.aerLimit
    ? answer(s, cmd, specific(CommandStatus.ASYNC_EVENT_LIMIT_EXCEEDED))
    : reportEvents({ ...s, aers: [...s.aers, cmd.cid] });

const abort = (s: Controller, cmd: Submission): Controller => {
  const sqid = cmd.cdw[0] & 0xffff;
  const cid = cmd.cdw[0] >>> 16;
  // Only an outstanding event request can be aborted; anything else runs to its end (dw0 bit 0: not aborted).
  if (sqid !== 0 || !s.aers.includes(cid)) return answer(s, cmd, OK, 1);
  const aborted = complete({ ...s, aers: s.aers.filter((a) => a !== cid) }, 0, cid, generic(GenericStatus.ABORTED_BY_REQUEST));
  return answer(aborted, cmd, OK, 0);
};

/** One admin command: the state after it (its completion posted, its data transfer started, or held). */
export const adminCommand = (s: Controller, cmd: Submission, env: ControllerEnv, defaults: Features): Controller => {
  // Fused operations and SGLs are not supported.
  if (cmd.fuse !== 0 || cmd.psdt !== 0) return answer(s, cmd, INVALID_FIELD);
  switch (cmd.opcode) {
    case AdminOpcode.DELETE_IO_SQ:
      return deleteSq(s, cmd);
    case AdminOpcode.CREATE_IO_SQ:
      return createSq(s, cmd);
    case AdminOpcode.GET_LOG_PAGE:
      return getLogPage(s, cmd, env);
    case AdminOpcode.DELETE_IO_CQ:
      return deleteCq(s, cmd);
    case AdminOpcode.CREATE_IO_CQ:
      return createCq(s, cmd, env);
    case AdminOpcode.IDENTIFY:
      return identify(s, cmd, env);
    case AdminOpcode.ABORT:
      return abort(s, cmd);
    case AdminOpcode.SET_FEATURES:
      return setFeatures(s, cmd, env);
    case AdminOpcode.GET_FEATURES:
      return getFeatures(s, cmd, env, defaults);
    case AdminOpcode.ASYNC_EVENT_REQUEST:
      return asyncEventRequest(s, cmd, env);
    case AdminOpcode.KEEP_ALIVE:
      return answer(s, cmd, OK);
    default:
      return answer(s, cmd, generic(GenericStatus.INVALID_OPCODE));
  }
};

/** The error log's size in bytes, for hosts. */
export const errorLogSize = (env: ControllerEnv): number => env.identity.errorLogEntries * ERROR_ENTRY_SIZE;
