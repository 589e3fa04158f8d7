import { readFileSync } from 'node:fs'
import { InvalidArgumentError, type Command, type Option } from 'commander'
import { parse, stringify, TomlError } from 'smol-toml'

/** Options that are about the config file itself, never written into one. */
const NOT_SETTINGS = new Set(['config', 'dumpconfig', 'help', 'version'])

export class ConfigFileError extends Error {
  readonly code = 'CONFIG_FILE'
}

/**
 * `povchain node --config FILE`: a TOML file holding any of the node's flags, by the flag's name
 * without the dashes, either flat (`"http.port" = 8545`) or in tables (`[http]` `port = 8545`), as
 * `povchain dumpconfig` prints them. A flag given on the command line wins over the file; the
 * file wins over the defaults. Every value goes through the flag's own parser, so a bad value
 * fails exactly as it would on the command line, naming the file.
 */
export function applyConfigFile(cmd: Command, file: string): string[] {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    throw new ConfigFileError(`cannot read the config file ${file}: ${(e as Error).message}`)
  }
  let doc: Record<string, unknown>
  try {
    doc = parse(text) as Record<string, unknown>
  } catch (e) {
    const where = e instanceof TomlError ? ` (line ${e.line}, column ${e.column})` : ''
    throw new ConfigFileError(`${file} is not valid TOML${where}: ${(e as Error).message.split('\n')[0]}`)
  }
  const byName = new Map(settingOptions(cmd).map((o) => [o.name(), o]))
  const applied: string[] = []
  for (const [key, value] of flatten(doc)) {
    const opt = byName.get(key)
    if (!opt) throw new ConfigFileError(`${file}: unknown setting "${key}" (the settings are the flags of \`povchain node --help\` without their dashes)`)
    const attr = opt.attributeName()
    if (cmd.getOptionValueSource(attr) === 'cli') continue
    cmd.setOptionValueWithSource(attr, fromToml(opt, value, `${file}: ${key}`), 'config')
    applied.push(key)
  }
  return applied
}

/** The effective settings of `cmd` (after flags, file and defaults) as a TOML document. */
export function dumpConfig(cmd: Command): string {
  const flat: Record<string, unknown> = {}
  for (const o of settingOptions(cmd)) {
    const v = cmd.getOptionValue(o.attributeName())
    if (v === undefined) continue
    flat[o.name()] = v
  }
  // Tables by the part before the first dot: [http] port = 8545, as people write Geth's and reth's files.
  const root: Record<string, unknown> = {}
  const tables: Record<string, Record<string, unknown>> = {}
  for (const [k, v] of Object.entries(flat)) {
    const dot = k.indexOf('.')
    if (dot < 0) root[k] = v
    else (tables[k.slice(0, dot)] ??= {})[k.slice(dot + 1)] = v
  }
  const header = '# povchain node settings (povchain dumpconfig). Use with: povchain node --config FILE\n# Any flag of `povchain node --help`, without its dashes; flags on the command line win.\n\n'
  // A name that is both a flag and a prefix (--dev and --dev.period) cannot also be a table:
  // its sub-settings stay flat, quoted ("dev.period" = 0).
  for (const [t, entries] of Object.entries(tables)) {
    if (!(t in root)) continue
    for (const [k, v] of Object.entries(entries)) root[`${t}.${k}`] = v
    delete tables[t]
  }
  return header + stringify({ ...root, ...tables }) + '\n'
}

function settingOptions(cmd: Command): Option[] {
  return cmd.options.filter((o) => o.long && !NOT_SETTINGS.has(o.name()) && !o.negate)
}

/** [dotted key, value] for every leaf: `[http] port = 1` and `"http.port" = 1` both give http.port. */
function flatten(doc: Record<string, unknown>, prefix = ''): [string, unknown][] {
  const out: [string, unknown][] = []
  for (const [k, v] of Object.entries(doc)) {
    const key = prefix ? `${prefix}.${k}` : k
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)) out.push(...flatten(v as Record<string, unknown>, key))
    else out.push([key, v])
  }
  return out
}

function fromToml(opt: Option, value: unknown, where: string): unknown {
  const takesValue = opt.required || opt.optional
  if (!takesValue) {
    if (typeof value !== 'boolean') throw new ConfigFileError(`${where}: must be true or false`)
    return value
  }
  let text: string
  if (Array.isArray(value)) text = value.map(String).join(',')
  else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') text = String(value)
  else throw new ConfigFileError(`${where}: must be a string, a number or a list`)
  if (opt.argChoices && !opt.argChoices.includes(text)) throw new ConfigFileError(`${where}: must be one of ${opt.argChoices.join(', ')}`)
  if (!opt.parseArg) return text
  try {
    return opt.parseArg(text, undefined as never)
  } catch (e) {
    if (e instanceof InvalidArgumentError) throw new ConfigFileError(`${where}: ${e.message}`)
    throw e
  }
}
