// The Bluesky reference PDS (@atproto/pds) and a PLC directory (@did-plc/server, in memory)
// on loopback, configured as atproto's dev-env TestPds and TestPlc are. Started by
// herald_dev.bluesky_pds, which installs the packages outside the clone and passes their
// folder; never run on a public interface.
//
//   node serve.mjs --modules DIR --data DIR [--host 127.0.0.1 ...] [--port N]
//
// Prints one JSON line, {"pds": URL, "plc": URL, "port": N}, once both answer; stops on
// SIGTERM or SIGINT, or when its standard input closes (the process that started it died).

import { createRequire } from 'node:module'
import fs from 'node:fs/promises'
import http from 'node:http'
import net from 'node:net'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { pathToFileURL } from 'node:url'

const { values } = parseArgs({
  options: {
    modules: { type: 'string' },
    data: { type: 'string' },
    host: { type: 'string', multiple: true, default: ['127.0.0.1'] },
    port: { type: 'string', default: '0' },
    'no-rate-limits': { type: 'boolean', default: false },
  },
})
if (!values.modules || !values.data) {
  console.error('usage: node serve.mjs --modules DIR --data DIR [--host H ...] [--port N]')
  process.exit(2)
}

// The packages live in the install folder, not beside this script.
const require = createRequire(path.join(values.modules, 'package.json'))
const load = (name) => import(pathToFileURL(require.resolve(name)).href)
const pdsModule = await load('@atproto/pds')
const plcModule = await load('@did-plc/server')
const { Secp256k1Keypair } = await load('@atproto/crypto')
const plc = plcModule.default ?? plcModule
const PlcServer = plc.PlcServer
const PlcDatabase = plc.Database
const { PDS } = pdsModule

const [firstHost, ...moreHosts] = values.host
const HANDLE_DOMAINS = ['.test', '.bsky.social']

// Listen on the first address only (Express's listen() would take every interface).
function bindTo(app, host) {
  const listen = app.listen.bind(app)
  app.listen = (port) => listen(port, host)
}

function freePort(host) {
  return new Promise((resolve, reject) => {
    const probe = net.createServer()
    probe.once('error', reject)
    probe.listen(0, host, () => {
      const { port } = probe.address()
      probe.close(() => resolve(port))
    })
  })
}

function listenAlso(app, port, host) {
  return new Promise((resolve, reject) => {
    const server = http.createServer(app)
    server.once('error', reject)
    server.listen(port, host, () => resolve(server))
  })
}

// The PLC directory, as dev-env's TestPlc: an in-memory mock database.
const plcServer = PlcServer.create({ db: PlcDatabase.mock(), port: 0 })
bindTo(plcServer.app, firstHost)
const plcListener = await plcServer.start()
const plcUrl = `http://${firstHost}:${plcListener.address().port}`

// The PDS, as dev-env's TestPds (its keys fresh for each run).
const port = Number(values.port) || (await freePort(firstHost))
const plcRotationKey = await Secp256k1Keypair.create({ exportable: true })
const plcRotationHex = Buffer.from(await plcRotationKey.export()).toString('hex')
const recoveryKey = (await Secp256k1Keypair.create()).did()
const dataDirectory = path.join(values.data, 'data')
const blobstoreLoc = path.join(values.data, 'blobs')
await fs.mkdir(dataDirectory, { recursive: true })

const pds = await PDS.fromEnv({
  devMode: true,
  port,
  dataDirectory,
  blobstoreDiskLocation: blobstoreLoc,
  recoveryDidKey: recoveryKey,
  adminPassword: 'admin-pass',
  jwtSecret: 'jwt-secret',
  // .bsky.social too, so that `make local` can hold the account a campaign names.
  serviceHandleDomains: HANDLE_DOMAINS,
  didPlcUrl: plcUrl,
  bskyAppViewUrl: 'https://appview.invalid',
  bskyAppViewDid: 'did:example:invalid',
  bskyAppViewCdnUrlPattern: 'http://cdn.appview.com/%s/%s/%s',
  modServiceUrl: 'https://moderator.invalid',
  modServiceDid: 'did:example:invalid',
  plcRotationKeyK256PrivateKeyHex: plcRotationHex,
  inviteRequired: false,
  disableSsrfProtection: true,
  // Unlike TestPds: herald is tested against the limits bsky.social applies.
  rateLimitsEnabled: !values['no-rate-limits'],
  serviceName: 'herald test PDS',
})
bindTo(pds.app, firstHost)
await pds.start()
const extra = []
for (const host of moreHosts) extra.push(await listenAlso(pds.app, port, host))

// Handles under its domains resolve against this PDS (dev-env's mockResolvers), not DNS.
const idResolver = pds.ctx.idResolver
const resolveDns = idResolver.handle.resolveDns.bind(idResolver.handle)
idResolver.handle.resolve = (handle) => {
  if (!HANDLE_DOMAINS.some((domain) => handle.endsWith(domain))) return resolveDns(handle)
  return new Promise((resolve) => {
    const options = { host: firstHost, port, path: '/.well-known/atproto-did', headers: { host: handle } }
    const request = http.get(options, (response) => {
      let body = ''
      response.on('data', (chunk) => (body += chunk))
      response.on('end', () => resolve(response.statusCode === 200 ? body.trim() : undefined))
    })
    request.on('error', () => resolve(undefined))
  })
}

let stopping = false
async function stop() {
  if (stopping) return
  stopping = true
  for (const server of extra) server.close()
  await Promise.allSettled([pds.destroy(), plcServer.destroy()])
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
process.stdin.on('end', stop)
process.stdin.resume()

const url = `http://${firstHost}:${port}`
console.log(JSON.stringify({ pds: url, plc: plcUrl, port }))
