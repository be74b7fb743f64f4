#!/usr/bin/env node
// Cross-checks Stoa's AccessToken2 code (crates/proto/src/token.rs) against the npm package agora-token@2.0.6.
// Driven by crates/proto/tests/agora_token_crosscheck.rs; usable by hand too. Install first:
//   npm ci --prefix crates/proto/tests/agora-token
//
// Usage:
//   node crosscheck.js build '<spec JSON>'          one spec, or an array of specs -> JSON token(s)
//   node crosscheck.js verify <token> <certificate> parse + verify with the package -> JSON fields
//   node crosscheck.js batch                        stdin: JSON array of {"build": spec} | {"verify": [token, cert]}
//                                                   stdout: JSON array of results, in order
//   node crosscheck.js vectors                      the fixed "007" tokens in the package's own test files
//
// A build spec is either
//   {"builder": "buildTokenWithUid", "args": [appId, cert, channel, uid, role, tokenExpire, privilegeExpire]}
//     any static method of RtcTokenBuilder, called with `args` (the package takes the clock and a random salt), or
//   {"raw": {"app_id", "app_certificate", "issue_ts", "expire", "salt",
//            "services": [{"type": 1, "channel", "uid", "privileges": {"1": 600}},
//                         {"type": N, "privileges": {...}, "tail_hex": "..."}]}}
//     an AccessToken2 assembled directly, with a fixed issue_ts and salt, like the package's own tests. A non-RTC
//     service is packed as type, privileges, then the raw tail bytes.
'use strict'

const fs = require('fs')
const path = require('path')
const { RtcTokenBuilder } = require('agora-token')
const { AccessToken2, Service, ServiceRtc } = require('agora-token/src/AccessToken2')

// A service of any type whose type-specific tail is given as raw bytes.
class RawService extends Service {
    constructor(type, tail) {
        super(type)
        this.__tail = tail
    }

    pack() {
        return Buffer.concat([super.pack(), this.__tail])
    }
}

function buildRaw(raw) {
    const token = new AccessToken2(raw.app_id, raw.app_certificate, raw.issue_ts, raw.expire)
    token.salt = raw.salt
    for (const spec of raw.services) {
        const service = spec.type === 1
            ? new ServiceRtc(spec.channel, spec.uid)
            : new RawService(spec.type, Buffer.from(spec.tail_hex || '', 'hex'))
        for (const [key, value] of Object.entries(spec.privileges || {})) {
            service.add_privilege(Number(key), value)
        }
        token.add_service(service)
    }
    return token.build()
}

function build(spec) {
    if (spec.raw) {
        return buildRaw(spec.raw)
    }
    const builder = RtcTokenBuilder[spec.builder]
    if (typeof builder !== 'function') {
        throw new Error(`unknown builder ${spec.builder}`)
    }
    return builder.apply(RtcTokenBuilder, spec.args)
}

// Plain JSON for a parsed field: Buffers become UTF-8 text (and hex, to see the exact bytes).
function plain(value) {
    if (Buffer.isBuffer(value)) {
        return value.toString('utf8')
    }
    if (value && typeof value === 'object') {
        return JSON.parse(JSON.stringify(value))
    }
    return value
}

function verify(token, certificate) {
    const parsed = new AccessToken2('', '', 0, 0)
    const ok = parsed.from_string(token)
    const result = { parsed: ok, verified: ok && parsed.verifySignature(certificate) }
    if (!ok) {
        return result
    }
    result.app_id = plain(parsed.appId)
    result.issue_ts = parsed.issueTs
    result.expire = parsed.expire
    result.salt = parsed.salt
    result.services = parsed.services.map(service => {
        const out = { type: service.service_type(), privileges: plain(service.__privileges) }
        for (const [key, value] of Object.entries(service)) {
            if (key.startsWith('__') && key !== '__type' && key !== '__privileges') {
                out[key.slice(2)] = plain(value)
            }
        }
        return out
    })
    return result
}

function vectors() {
    const dir = path.join(path.dirname(require.resolve('agora-token/package.json')), 'test')
    const found = []
    for (const file of fs.readdirSync(dir).sort()) {
        const text = fs.readFileSync(path.join(dir, file), 'utf8')
        for (const match of text.matchAll(/['"](007[A-Za-z0-9+/=]{20,})['"]/g)) {
            found.push({ file, token: match[1] })
        }
    }
    return found
}

function main(argv) {
    const [command, ...args] = argv
    switch (command) {
        case 'build': {
            const spec = JSON.parse(args[0])
            return Array.isArray(spec) ? spec.map(build) : build(spec)
        }
        case 'verify':
            return verify(args[0], args[1])
        case 'batch': {
            const ops = JSON.parse(fs.readFileSync(0, 'utf8'))
            return ops.map(op => (op.build ? build(op.build) : verify(op.verify[0], op.verify[1])))
        }
        case 'vectors':
            return vectors()
        default:
            throw new Error('usage: crosscheck.js build <json> | verify <token> <cert> | batch | vectors')
    }
}

try {
    process.stdout.write(JSON.stringify(main(process.argv.slice(2))) + '\n')
} catch (error) {
    process.stderr.write(`${error.stack || error}\n`)
    process.exit(1)
}
