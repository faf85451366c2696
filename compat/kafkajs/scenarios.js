'use strict'
// kafkajs 2.2.4 scenarios against a live kgw, driven by test_kafkajs.py.
//
//   node scenarios.js SCENARIO BOOTSTRAP TOPIC [JSON-OPTIONS]
//
// One-shot scenarios print one JSON document on stdout and exit 0; a failure
// prints {"error": ...} and exits 1.  The long-running ones (`member`,
// `stream`, `idempotent`) print one JSON object per line and take commands
// on stdin.  kafkajs logs go to stderr so that stdout stays parseable.

const readline = require('readline')
const {
  Kafka, logLevel, CompressionTypes, CompressionCodecs, AssignerProtocol,
} = require('kafkajs')
const SnappyCodec = require('kafkajs-snappy')
const LZ4Codec = require('kafkajs-lz4')

CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec
CompressionCodecs[CompressionTypes.LZ4] = new LZ4Codec().codec

const CODECS = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
}

const [, , scenario, bootstrap, topic, optionsJson] = process.argv
const opts = optionsJson ? JSON.parse(optionsJson) : {}

const stderrLogger = () => ({ namespace, level, label, log }) => {
  const { message, ...extra } = log
  process.stderr.write(`[kafkajs ${label} ${namespace}] ${message} ${JSON.stringify(extra)}\n`)
}

function client(clientId = 'kgw-compat-kafkajs') {
  return new Kafka({
    clientId,
    brokers: [bootstrap],
    sasl: opts.sasl,
    logLevel: process.env.KAFKAJS_DEBUG ? logLevel.DEBUG : logLevel.WARN,
    logCreator: stderrLogger,
    connectionTimeout: 3000,
    requestTimeout: 10000,
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 8 },
  })
}

const out = obj => process.stdout.write(JSON.stringify(obj) + '\n')
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))
const str = buf => (buf === null || buf === undefined ? null : buf.toString('utf8'))

// Header values as text, or "hex:..." when they are not valid UTF-8.
function headerValue(buf) {
  if (buf === null || buf === undefined) return null
  const text = buf.toString('utf8')
  return Buffer.from(text, 'utf8').equals(buf) ? text : 'hex:' + buf.toString('hex')
}

function headersOut(headers) {
  const result = {}
  for (const [k, v] of Object.entries(headers || {})) {
    result[k] = Array.isArray(v) ? v.map(headerValue) : headerValue(v)
  }
  return result
}

function messageOut(partition, m) {
  return {
    partition,
    offset: Number(m.offset),
    key: str(m.key),
    value: str(m.value),
    headers: headersOut(m.headers),
    timestamp: Number(m.timestamp),
  }
}

// The messages the produce scenarios send: keys, a null value, headers with
// a repeated key and a binary value.
function standardMessages(prefix, count) {
  const messages = []
  for (let i = 0; i < count; i++) {
    const m = { key: `k${i}`, value: `${prefix}-${i}-` + 'abcd'.repeat(i % 4 === 0 ? 50 : 1) }
    if (i % 5 === 3) m.value = null
    if (i % 3 === 0) m.key = null
    if (i % 2 === 0) m.headers = { h: `v${i}`, multi: ['a', 'b'], bin: Buffer.from([0, 255, 1]), empty: '' }
    messages.push(m)
  }
  return messages
}

async function withAdmin(fn) {
  const admin = client().admin()
  await admin.connect()
  try {
    return await fn(admin)
  } finally {
    await admin.disconnect()
  }
}

function consumerConfig(groupId, extra = {}) {
  return {
    groupId,
    sessionTimeout: opts.sessionTimeout || 6000,
    rebalanceTimeout: opts.rebalanceTimeout || 10000,
    heartbeatInterval: 300,
    maxWaitTimeInMs: 100,
    allowAutoTopicCreation: false,
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 8 },
    ...extra,
  }
}

// Subscribe a group consumer, collect `count` messages (kafkajs commits
// after each one), then disconnect; gives up after `timeoutMs`.  Anything
// that arrives before the disconnect is reported too, so extra messages show.
async function consumeGroup({ groupId, count, fromBeginning = true, timeoutMs = 20000, clientId }) {
  const consumer = client(clientId).consumer(consumerConfig(groupId))
  const messages = []
  // The high watermark of each partition as the last Fetch response gave it.
  const highWatermarks = {}
  consumer.on(consumer.events.END_BATCH_PROCESS, e => { highWatermarks[e.payload.partition] = e.payload.highWatermark })
  await consumer.connect()
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning })
    let done
    const finished = new Promise(resolve => { done = resolve })
    await consumer.run({
      autoCommitThreshold: 1,
      eachMessage: async ({ partition, message }) => {
        messages.push(messageOut(partition, message))
        if (messages.length >= count) done()
      },
    })
    const timedOut = await Promise.race([finished.then(() => false), sleep(timeoutMs).then(() => true)])
    return { messages, timedOut, highWatermarks }
  } finally {
    await consumer.disconnect()
  }
}

const sortMessages = ms => ms.sort((a, b) => a.partition - b.partition || a.offset - b.offset)

const scenarios = {
  // Admin: create (and create again), metadata, configs, delete.
  async admin_topics() {
    return withAdmin(async admin => {
      const created = await admin.createTopics({
        waitForLeaders: true,
        topics: [{
          topic,
          numPartitions: 3,
          configEntries: [{ name: 'retention.ms', value: '3600000' }, { name: 'cleanup.policy', value: 'delete' }],
        }],
      })
      const createdAgain = await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] })
      let invalid
      try {
        await admin.createTopics({ topics: [{ topic: `${topic}-bad`, numPartitions: -5 }] })
        invalid = 'no error'
      } catch (e) {
        invalid = e.errors ? e.errors.map(x => x.type) : e.type || e.message
      }
      const listed = (await admin.listTopics()).includes(topic)
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] })
      const configs = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: 2 /* TOPIC */, name: topic, configNames: ['retention.ms', 'cleanup.policy', 'max.message.bytes'] }],
      })
      const brokerConfigs = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: 4 /* BROKER */, name: '0' }],
      })
      const synonyms = await admin.describeConfigs({
        includeSynonyms: true,
        resources: [{ type: 2 /* TOPIC */, name: topic, configNames: ['retention.ms'] }],
      })
      const cluster = await admin.describeCluster()
      await admin.createPartitions({ topicPartitions: [{ topic, count: 5 }] })
      // Kafka's broker lists the new partitions a moment after its controller made them.
      let partitionsAfterGrow = 0
      for (const deadline = Date.now() + 30000; partitionsAfterGrow !== 5 && Date.now() < deadline;) {
        if (partitionsAfterGrow) await sleep(100)
        partitionsAfterGrow = (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0].partitions.length
      }
      let shrink
      try {
        await admin.createPartitions({ topicPartitions: [{ topic, count: 2 }] })
        shrink = 'no error'
      } catch (e) {
        shrink = (e.cause || e).type || e.name
      }
      await admin.deleteTopics({ topics: [topic], timeout: 5000 })
      // Kafka's broker forgets the topic a moment after its controller did.
      let listedAfterDelete = true
      for (const deadline = Date.now() + 30000; listedAfterDelete && Date.now() < deadline;) {
        listedAfterDelete = (await admin.listTopics()).includes(topic)
        if (listedAfterDelete) await sleep(100)
      }
      let metadataAfterDelete
      try {
        await admin.fetchTopicMetadata({ topics: [topic] })
        metadataAfterDelete = 'no error'
      } catch (e) {
        metadataAfterDelete = e.type || e.message
      }
      return {
        created,
        createdAgain,
        invalid,
        listed,
        metadata: metadata.topics.map(t => ({
          name: t.name,
          partitions: t.partitions
            .map(p => ({ partitionId: p.partitionId, leader: p.leader, replicas: p.replicas, isr: p.isr, errorCode: p.partitionErrorCode }))
            .sort((a, b) => a.partitionId - b.partitionId),
        })),
        topicConfigs: configs.resources.map(r => ({
          errorCode: r.errorCode,
          resourceType: r.resourceType,
          resourceName: r.resourceName,
          entries: Object.fromEntries(r.configEntries.map(e => [e.configName, e.configValue])),
        })),
        synonyms: synonyms.resources[0].configEntries.map(e => ({
          name: e.configName, value: e.configValue, source: e.configSource, synonyms: e.configSynonyms,
        })),
        partitionsAfterGrow,
        shrink,
        brokerConfigCount: brokerConfigs.resources[0].configEntries.length,
        brokerConfigError: brokerConfigs.resources[0].errorCode,
        cluster: { brokers: cluster.brokers, controller: cluster.controller, clusterIdType: typeof cluster.clusterId },
        listedAfterDelete,
        metadataAfterDelete,
      }
    })
  },

  async create_topic() {
    return withAdmin(async admin => ({
      created: await admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic, numPartitions: opts.partitions || 1 }],
      }),
    }))
  },

  // Produce `count` standard messages to partition 0 in batches of `batch`
  // with the given acks/codec/producer settings (defaults when absent).
  async produce() {
    const producerOpts = { allowAutoTopicCreation: false, ...(opts.producer || {}) }
    const producer = client().producer(producerOpts)
    await producer.connect()
    const results = []
    try {
      const messages = standardMessages(opts.prefix || 'm', opts.count || 10)
        .map(m => ({ ...m, partition: opts.partition || 0 }))
      const batch = opts.batch || messages.length
      for (let i = 0; i < messages.length; i += batch) {
        const send = { topic, messages: messages.slice(i, i + batch) }
        if (opts.acks !== undefined) send.acks = opts.acks
        if (opts.codec) send.compression = CODECS[opts.codec]
        const r = await producer.send(send)
        results.push(r.map(x => ({ partition: x.partition, errorCode: x.errorCode, baseOffset: x.baseOffset })))
      }
    } finally {
      await producer.disconnect()
    }
    return { results }
  },

  // One record of `size` bytes to partition 0: accepted, or why not (e.g. above
  // max.message.bytes, 1048588 by default).
  async produce_record() {
    const producer = client().producer({ allowAutoTopicCreation: false })
    await producer.connect()
    try {
      const [r] = await producer.send({ topic, acks: -1, messages: [{ partition: 0, value: 'x'.repeat(opts.size) }] })
      return { accepted: { partition: r.partition, baseOffset: r.baseOffset } }
    } catch (e) {
      const cause = e.cause || e
      return { rejected: { name: cause.name, type: cause.type, retriable: cause.retriable } }
    } finally {
      await producer.disconnect()
    }
  },

  // AlterConfigs: each of `opts.calls` ({resources, validateOnly}) in turn,
  // then DescribeConfigs of the topic's `opts.describe` names.  A call that
  // fails gives the error kafkajs threw: that of the first failed resource.
  async alter_configs() {
    return withAdmin(async admin => {
      const outcomes = []
      for (const call of opts.calls || []) {
        try {
          outcomes.push(await admin.alterConfigs(call))
        } catch (e) {
          outcomes.push({ rejected: { name: e.name, type: e.type } })
        }
      }
      const describe = async () => {
        const described = await admin.describeConfigs({
          includeSynonyms: false,
          resources: [{ type: 2 /* TOPIC */, name: topic, configNames: opts.describe }],
        })
        return Object.fromEntries(described.resources[0].configEntries.map(e => [
          e.configName, [e.configValue, e.configSource]]))
      }
      // With opts.expect, describe until the configs are those: Kafka's
      // broker applies a change a moment after answering it.
      const same = configs => JSON.stringify(Object.entries(configs).sort()) ===
        JSON.stringify(Object.entries(opts.expect).sort())
      const deadline = Date.now() + 30000
      let configs = await describe()
      while (opts.expect && !same(configs) && Date.now() < deadline) {
        await sleep(100)
        configs = await describe()
      }
      return { outcomes, configs }
    })
  },

  async consume() {
    const r = await consumeGroup({
      groupId: opts.group || `${topic}-g`, count: opts.count, timeoutMs: opts.timeoutMs || 20000,
    })
    sortMessages(r.messages)
    return r
  },

  async offsets() {
    return withAdmin(async admin => {
      const result = {
        offsets: (await admin.fetchTopicOffsets(topic)).sort((a, b) => a.partition - b.partition),
      }
      for (const ts of opts.timestamps || []) {
        result[`ts_${ts}`] = (await admin.fetchTopicOffsetsByTimestamp(topic, ts)).sort((a, b) => a.partition - b.partition)
      }
      return result
    })
  },

  // Seek to an offset, to the end (-1) and to a timestamp (looked up with
  // fetchTopicOffsetsByTimestamp) in one consumer, in that order.
  async seek() {
    const consumer = client().consumer(consumerConfig(opts.group))
    const seen = []
    let waiter = null
    await consumer.connect()
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true })
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          seen.push(messageOut(partition, message))
          if (waiter && seen.length >= waiter.count) waiter.resolve()
        },
      })
      const take = async (count, ms = 15000) => {
        await Promise.race([
          new Promise(resolve => { waiter = { count, resolve }; if (seen.length >= count) resolve() }),
          sleep(ms),
        ])
        waiter = null
        return seen.splice(0, seen.length)
      }
      // 1. run from the beginning, 2. seek back to an offset.
      const first = await take(opts.count)
      consumer.seek({ topic, partition: 0, offset: String(opts.seekOffset) })
      const afterSeek = await take(opts.count - opts.seekOffset)
      // 3. seek to the end: nothing more until something new is produced.
      // (kafkajs quirk: seek to '-1' resolves like a missing committed
      // offset, i.e. by the subscription's fromBeginning, so the end is
      // looked up with the admin client.)
      const admin = client().admin()
      await admin.connect()
      const end = (await admin.fetchTopicOffsets(topic)).find(x => x.partition === 0)
      consumer.seek({ topic, partition: 0, offset: end.high })
      const idle = await take(1, 1500)
      const producer = client().producer({ allowAutoTopicCreation: false })
      await producer.connect()
      await producer.send({ topic, messages: [{ partition: 0, value: 'after-end' }] })
      await producer.disconnect()
      const afterEnd = await take(1)
      // 4. seek to a timestamp.
      const byTs = await admin.fetchTopicOffsetsByTimestamp(topic, opts.timestamp)
      await admin.disconnect()
      const p0 = byTs.find(x => x.partition === 0)
      consumer.seek({ topic, partition: 0, offset: p0.offset })
      const afterTs = await take(opts.count + 1 - Number(p0.offset))
      // 5. seek past the end: Fetch answers OFFSET_OUT_OF_RANGE and kafkajs
      // resets the partition by its fromBeginning setting (to the start).
      consumer.seek({ topic, partition: 0, offset: '1000' })
      const afterOutOfRange = await take(opts.count + 1)
      return { first, afterSeek, idle, afterEnd, timestampOffset: p0.offset, afterTs, afterOutOfRange }
    } finally {
      await consumer.disconnect()
    }
  },

  async delete_records() {
    return withAdmin(async admin => {
      // kafkajs quirk: deleteTopicRecords looks the leader up in metadata
      // it does not load itself (KafkaJSTopicMetadataNotLoaded otherwise).
      await admin.fetchTopicMetadata({ topics: [topic] })
      await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: String(opts.offset) }] })
      const afterDelete = (await admin.fetchTopicOffsets(topic)).sort((a, b) => a.partition - b.partition)
      await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '-1' }] })
      const afterDeleteAll = (await admin.fetchTopicOffsets(topic)).sort((a, b) => a.partition - b.partition)
      let beyondEnd
      try {
        await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '1000' }] })
        beyondEnd = 'no error'
      } catch (e) {
        const cause = e.cause || e
        beyondEnd = {
          name: e.name,
          cause: cause.name,
          partitions: (cause.partitions || []).map(p => ({ partition: p.partition, offset: p.offset, error: p.error && p.error.type })),
        }
      }
      return { afterDelete, afterDeleteAll, beyondEnd }
    })
  },

  // An idempotent producer sending one message per request; prints
  // {"sent": n} after each acknowledgement so that the test can cut the
  // connections mid-stream.
  async idempotent() {
    const producer = client().producer({
      idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false,
      retry: { initialRetryTime: 50, maxRetryTime: 500, retries: 30 },
    })
    await producer.connect()
    const acks = []
    for (let i = 0; i < opts.count; i++) {
      const r = await producer.send({ topic, acks: -1, messages: [{ partition: 0, key: `k${i}`, value: `idem-${i}` }] })
      acks.push(Number(r[0].baseOffset))
      out({ sent: i + 1 })
      if (opts.pauseMs) await sleep(opts.pauseMs)
    }
    await producer.disconnect()
    out({ acks })
    return null
  },

  // A producer writing round-robin over every partition until "stop" on
  // stdin; then prints {"total": n, "perPartition": {...}}.
  async stream() {
    const producer = client().producer({ allowAutoTopicCreation: false })
    await producer.connect()
    let stopping = false
    readline.createInterface({ input: process.stdin }).on('line', line => {
      if (line.trim() === 'stop') stopping = true
    })
    const partitions = opts.partitions
    let n = 0
    const perPartition = {}
    out({ event: 'started' })
    while (!stopping || n < opts.minimum) {
      const messages = []
      for (let p = 0; p < partitions; p++) {
        messages.push({ partition: p, key: `k${n}`, value: `s-${n}` })
        perPartition[p] = (perPartition[p] || 0) + 1
        n++
      }
      await producer.send({ topic, acks: -1, messages })
      if (n % 60 === 0) out({ produced: n })
      await sleep(opts.pauseMs || 20)
    }
    await producer.disconnect()
    out({ total: n, perPartition })
    return null
  },

  // One member of a consumer group (its own process, so it can be killed).
  // Prints {"event":"joined", ...} on each assignment and {"p":..,"o":..,
  // "v":..} for each processed message; kafkajs commits each one right after
  // eachMessage returns (autoCommitThreshold 1).  stdin: "stop" leaves the
  // group cleanly (disconnect); "freeze" stops processing after the current
  // message has been committed and prints {"event":"frozen"}.
  async member() {
    const consumer = client(opts.clientId || 'kgw-member').consumer(consumerConfig(opts.group))
    let freeze = null
    consumer.on(consumer.events.GROUP_JOIN, e => {
      out({ event: 'joined', memberId: e.payload.memberId, leader: e.payload.isLeader, assignment: e.payload.memberAssignment[topic] || [] })
    })
    consumer.on(consumer.events.CRASH, e => out({ event: 'crash', error: String(e.payload.error) }))
    if (opts.traceCommits) {
      // Emitted once kgw has acknowledged an OffsetCommit.
      consumer.on(consumer.events.COMMIT_OFFSETS, e => out({
        event: 'commit',
        memberId: e.payload.memberId,
        generation: e.payload.groupGenerationId,
        offsets: e.payload.topics.flatMap(t => t.partitions.map(p => [Number(p.partition), Number(p.offset)])),
      }))
    }
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    readline.createInterface({ input: process.stdin }).on('line', async line => {
      const cmd = line.trim()
      if (cmd === 'stop') {
        await consumer.disconnect()
        out({ event: 'stopped' })
        process.exit(0)
      } else if (cmd === 'freeze') {
        freeze = new Promise(() => {})
      }
    })
    await consumer.run({
      autoCommitThreshold: 1,
      eachMessage: async ({ partition, message }) => {
        if (freeze) {
          // Every message printed so far has been committed: the previous
          // eachMessage returned and its offset was committed before this
          // call.  Hang here until killed.
          out({ event: 'frozen' })
          await freeze
        }
        out({ p: partition, o: Number(message.offset), v: str(message.value) })
      },
    })
    out({ event: 'running' })
    await new Promise(() => {})
  },

  // Group admin on a live and then an empty group.
  async group_admin() {
    const group = opts.group
    const admin = client().admin()
    await admin.connect()
    const consumer = client('kgw-admin-member').consumer(consumerConfig(group))
    const result = {}
    try {
      let joined
      const joinedP = new Promise(resolve => { joined = resolve })
      consumer.on(consumer.events.GROUP_JOIN, e => joined(e.payload))
      let got = 0
      let enough
      const enoughP = new Promise(resolve => { enough = resolve })
      await consumer.connect()
      await consumer.subscribe({ topics: [topic], fromBeginning: true })
      await consumer.run({
        autoCommitThreshold: 1,
        eachMessage: async () => { if (++got >= opts.count) enough() },
      })
      const joinPayload = await joinedP
      await Promise.race([enoughP, sleep(15000)])
      result.consumed = got
      // A live group.
      result.listLive = (await admin.listGroups()).groups.filter(g => g.groupId === group)
      const described = await admin.describeGroups([group])
      result.describeLive = described.groups.map(g => ({
        groupId: g.groupId,
        errorCode: g.errorCode,
        state: g.state,
        protocolType: g.protocolType,
        protocol: g.protocol,
        members: g.members.map(m => ({
          memberIdIsOurs: m.memberId === joinPayload.memberId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          metadata: AssignerProtocol.MemberMetadata.decode(m.memberMetadata),
          assignment: AssignerProtocol.MemberAssignment.decode(m.memberAssignment),
        })),
      }))
      result.offsetsLive = await admin.fetchOffsets({ groupId: group, topics: [topic] })
      try {
        await admin.deleteGroups([group])
        result.deleteLive = 'no error'
      } catch (e) {
        result.deleteLive = { name: e.name, groups: (e.groups || []).map(g => ({ groupId: g.groupId, errorCode: g.errorCode, error: g.error && g.error.type })) }
      }
      try {
        await admin.resetOffsets({ groupId: group, topic, earliest: true })
        result.resetLive = 'no error'
      } catch (e) {
        result.resetLive = e.type || e.name
      }
      await consumer.disconnect()

      // The group, now empty.
      result.describeEmpty = (await admin.describeGroups([group])).groups.map(g => ({ state: g.state, members: g.members.length, protocolType: g.protocolType }))
      result.listEmpty = (await admin.listGroups()).groups.filter(g => g.groupId === group)
      await admin.resetOffsets({ groupId: group, topic, earliest: true })
      result.afterResetEarliest = await admin.fetchOffsets({ groupId: group, topics: [topic] })
      // (resetOffsets and setOffsets each run a consumer of the group inside
      // the admin client, which waits out kafkajs's default 5 s maxWaitTime:
      // one reset and one set keep the test short.)
      const byTs = await admin.fetchTopicOffsetsByTimestamp(topic, opts.timestamp)
      await admin.setOffsets({ groupId: group, topic, partitions: byTs.map(x => ({ partition: x.partition, offset: x.offset })) })
      result.afterSetByTimestamp = await admin.fetchOffsets({ groupId: group, topics: [topic] })
      // A consumer of the group resumes from the offsets just set.
      const resumed = await consumeGroup({ groupId: group, count: opts.expectAfterReset, fromBeginning: true })
      result.resumed = sortMessages(resumed.messages).map(m => [m.partition, m.offset])
      result.afterResume = await admin.fetchOffsets({ groupId: group, topics: [topic] })
      // Unknown group: described as Dead with no members.
      result.describeUnknown = (await admin.describeGroups([`${group}-unknown`])).groups.map(g => ({ groupId: g.groupId, state: g.state, errorCode: g.errorCode, members: g.members.length }))
      result.offsetsUnknown = await admin.fetchOffsets({ groupId: `${group}-unknown`, topics: [topic] })
      result.deleteEmpty = await admin.deleteGroups([group])
      result.listAfterDelete = (await admin.listGroups()).groups.filter(g => g.groupId === group)
      result.offsetsAfterDelete = await admin.fetchOffsets({ groupId: group, topics: [topic] })
      return result
    } finally {
      await consumer.disconnect()
      await admin.disconnect()
    }
  },

  // A group member that commits offsets 1, 2, 3, ... of partition 0 one
  // after the other (OffsetCommit v5 with its generation), printing
  // {"committed": n} once kgw has acknowledged n.
  async commit_loop() {
    const consumer = client('kgw-committer').consumer(consumerConfig(opts.group))
    let joined
    const joinedP = new Promise(resolve => { joined = resolve })
    consumer.on(consumer.events.GROUP_JOIN, () => joined())
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({ autoCommit: false, eachMessage: async () => {} })
    await joinedP
    out({ event: 'joined' })
    for (let i = 1; i <= opts.count; i++) {
      await consumer.commitOffsets([{ topic, partition: 0, offset: String(i) }])
      out({ committed: i })
    }
    await consumer.disconnect()
    return null
  },

  // Group errors kafkajs surfaces as a crash of the consumer: a session
  // timeout outside the broker's range, and a member whose assignor no other
  // member supports.
  async group_errors() {
    const crashOf = async (consumer, subscribe = true) => {
      const crashed = new Promise(resolve => consumer.on(consumer.events.CRASH, e => resolve(e.payload.error)))
      await consumer.connect()
      if (subscribe) await consumer.subscribe({ topics: [topic], fromBeginning: true })
      await consumer.run({ eachMessage: async () => {} })
      const error = await Promise.race([crashed, sleep(10000).then(() => null)])
      return error && { type: error.type, name: error.name, retriable: error.retriable }
    }
    const result = {}
    const tooShort = client().consumer(consumerConfig(`${opts.group}-short`, { sessionTimeout: 1000, heartbeatInterval: 100 }))
    result.shortSession = await crashOf(tooShort)
    await tooShort.disconnect()

    const regular = client().consumer(consumerConfig(opts.group))
    let joined
    const joinedP = new Promise(resolve => { joined = resolve })
    regular.on(regular.events.GROUP_JOIN, () => joined())
    await regular.connect()
    await regular.subscribe({ topics: [topic], fromBeginning: true })
    await regular.run({ eachMessage: async () => {} })
    await joinedP
    const otherAssignor = () => ({
      name: 'OtherAssignor',
      version: 0,
      async assign({ members }) {
        return members.map(m => ({
          memberId: m.memberId,
          memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: {} }),
        }))
      },
      protocol({ topics }) {
        return { name: 'OtherAssignor', metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics }) }
      },
    })
    const odd = client().consumer(consumerConfig(opts.group, { partitionAssigners: [otherAssignor] }))
    result.inconsistentProtocol = await crashOf(odd)
    await odd.disconnect()
    const admin = client().admin()
    await admin.connect()
    result.groupAfter = (await admin.describeGroups([opts.group])).groups.map(g => ({ state: g.state, protocol: g.protocol, members: g.members.length }))
    await admin.disconnect()
    await regular.disconnect()
    return result
  },

  async fetch_offsets() {
    return withAdmin(async admin => ({
      offsets: await admin.fetchOffsets({ groupId: opts.group, topics: [topic] }),
    }))
  },
}

// --- transactions (driven by compat/transactions/test_kafkajs.py) ----------
//
// kafkajs has no init_transactions(): producer.connect() only gets an
// idempotent producer id, and the first producer.transaction() sends
// InitProducerId with the transactional id.

function errorOut(e) {
  if (!e) return null
  return {
    name: e.name,
    type: e.type || null,
    retriable: e.retriable === undefined ? null : e.retriable,
    message: e.message,
    cause: e.cause ? errorOut(e.cause) : null,
  }
}

function txnProducer(clientId) {
  return client(clientId).producer({
    transactionalId: opts.transactionalId,
    transactionTimeout: opts.transactionTimeout,
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  })
}

Object.assign(scenarios, {
  // A transactional producer driven by JSON commands on stdin, one a line:
  //   {"seq": n, "op": "begin"}                       producer.transaction()
  //   {"seq": n, "op": "send", "topic"?: t, "messages": [...]}  txn.send()
  //   {"seq": n, "op": "plainSend", "topic"?: t, "messages": [...]}  producer.send()
  //   {"seq": n, "op": "sendOffsets", "group": g, "topics": [...]}
  //   {"seq": n, "op": "commit"} / {"seq": n, "op": "abort"}
  //   {"op": "exit"}                                  disconnect and exit
  // Prints {"event": "connected"}, then {"seq": n, "ok": result} or
  // {"seq": n, "error": {...}} for each command.
  async txn_session() {
    const producer = txnProducer(opts.clientId || 'kgw-txn')
    await producer.connect()
    out({ event: 'connected' })
    let txn = null
    const rl = readline.createInterface({ input: process.stdin })
    for await (const line of rl) {
      if (!line.trim()) continue
      const cmd = JSON.parse(line)
      if (cmd.op === 'exit') break
      try {
        let result = null
        if (cmd.op === 'begin') {
          txn = await producer.transaction()
        } else if (cmd.op === 'send') {
          const r = await txn.send({ topic: cmd.topic || topic, acks: -1, messages: cmd.messages })
          result = r.map(x => ({ partition: x.partition, errorCode: x.errorCode, baseOffset: Number(x.baseOffset) }))
            .sort((a, b) => a.partition - b.partition)
        } else if (cmd.op === 'plainSend') {
          // producer.send() outside the transaction: an idempotent,
          // non-transactional batch (the producer id connect() got).
          const r = await producer.send({ topic: cmd.topic || topic, acks: -1, messages: cmd.messages })
          result = r.map(x => ({ partition: x.partition, errorCode: x.errorCode, baseOffset: Number(x.baseOffset) }))
        } else if (cmd.op === 'sendOffsets') {
          await txn.sendOffsets({ consumerGroupId: cmd.group, topics: cmd.topics })
        } else if (cmd.op === 'commit') {
          await txn.commit()
        } else if (cmd.op === 'abort') {
          await txn.abort()
        } else {
          throw new Error(`unknown op ${cmd.op}`)
        }
        out({ seq: cmd.seq, ok: result })
      } catch (e) {
        out({ seq: cmd.seq, error: errorOut(e) })
      }
    }
    await producer.disconnect()
    out({ event: 'exited' })
    return null
  },

  // A group consumer (readUncommitted: opts.readUncommitted) printing
  // {"p", "o", "k", "v"} for each message and {"event": "batch", ...} with
  // the high watermark of each fetched batch (END_BATCH_PROCESS, also
  // emitted for a batch that held only markers or aborted records).
  // "stop" on stdin disconnects.
  async txn_watch() {
    const consumer = client(opts.clientId || 'kgw-txn-watch').consumer(
      consumerConfig(opts.group, { readUncommitted: Boolean(opts.readUncommitted) }))
    consumer.on(consumer.events.GROUP_JOIN, () => out({ event: 'joined' }))
    consumer.on(consumer.events.END_BATCH_PROCESS, e => out({
      event: 'batch',
      partition: e.payload.partition,
      highWatermark: Number(e.payload.highWatermark),
      batchSize: e.payload.batchSize,
    }))
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    readline.createInterface({ input: process.stdin }).on('line', async line => {
      if (line.trim() === 'stop') {
        await consumer.disconnect()
        out({ event: 'stopped' })
        process.exit(0)
      }
    })
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        out({ p: partition, o: Number(message.offset), k: str(message.key), v: str(message.value) })
      },
    })
    out({ event: 'running' })
    await new Promise(() => {})
  },

  // One consume-transform-produce round: a member of opts.group (no
  // auto-commit) reads opts.count records of `topic`, a transactional
  // producer writes "out-" + value (key "k-out-" + value) to opts.output,
  // sends the group offset after the last record with sendOffsets, and
  // commits (or aborts: opts.end === 'abort').
  async txn_ctp() {
    const consumer = client('kgw-txn-ctp').consumer(consumerConfig(opts.group))
    const producer = txnProducer('kgw-txn-ctp-producer')
    await producer.connect()
    await consumer.connect()
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true })
      const consumed = []
      let enough
      const enoughP = new Promise(resolve => { enough = resolve })
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          consumed.push({ p: partition, o: Number(message.offset), k: str(message.key), v: str(message.value) })
          if (consumed.length >= opts.count) enough()
        },
      })
      const timedOut = await Promise.race([enoughP.then(() => false), sleep(20000).then(() => true)])
      if (timedOut) throw new Error(`consumed only ${JSON.stringify(consumed)}`)
      const txn = await producer.transaction()
      const sent = []
      for (const m of consumed) {
        const [r] = await txn.send({
          topic: opts.output, acks: -1, messages: [{ partition: 0, key: `k-out-${m.v}`, value: `out-${m.v}` }],
        })
        sent.push(Number(r.baseOffset))
      }
      const next = Math.max(...consumed.map(m => m.o)) + 1
      await txn.sendOffsets({
        consumerGroupId: opts.group, topics: [{ topic, partitions: [{ partition: 0, offset: String(next) }] }],
      })
      if (opts.end === 'abort') await txn.abort()
      else await txn.commit()
      return { consumed, sent }
    } finally {
      await consumer.disconnect()
      await producer.disconnect()
    }
  },
})

async function main() {
  const fn = scenarios[scenario]
  if (!fn) throw new Error(`unknown scenario ${scenario}`)
  const result = await fn()
  if (result !== null) out(result)
}

main().then(
  () => process.exit(0),
  e => {
    out({ error: String(e && e.stack ? e.stack : e), name: e && e.name, type: e && e.type })
    process.exit(1)
  },
)
