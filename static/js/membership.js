// Configurations (the Raft paper's section 6, Ongaro's thesis chapter 4) as the
// page shows them. Each server uses the latest configuration in its own log,
// so servers may disagree; the ring shows one of them: the leader's, or
// without a leader the most recent one any server holds. These are pure
// functions of the state the server sent: the page decides nothing about Raft.

/** S1–S3 for a run of three or more, else S1, S3, S5 (as the engine writes them). */
export function serverList(ids) {
  const s = [...ids].sort((a, b) => a - b);
  if (!s.length) return "nobody";
  if (s.length > 2 && s.at(-1) - s[0] === s.length - 1) return `S${s[0]}–S${s.at(-1)}`;
  return s.map((i) => `S${i}`).join(", ");
}

/** The configuration the ring shows: {voters, old_voters, learners, of, byLeader}, or null.
 * With several leaders (a partition, or the unsafe direct change), the one of the
 * highest term; between leaders of one term, the one with the latest configuration. */
export function ringConfiguration(nodes) {
  let leader = null;
  const lead = (n) => [n.term, n.config_index ?? 0, -n.id];
  for (const n of nodes.values()) {
    if (n.up && n.role === "leader" && (!leader || compare(lead(n), lead(leader)) > 0)) leader = n;
  }
  let best = leader;
  if (!best) {
    // The most recent: the highest configuration index; a server that knows no
    // configuration at all (a new, empty one) only if nobody knows one.
    const rank = (n) => [n.config_index ?? 0, n.config?.voters?.length ? 1 : 0, n.up ? 1 : 0];
    for (const n of nodes.values()) {
      if (!n.config) continue;
      if (!best || compare(rank(n), rank(best)) > 0) best = n;
    }
  }
  if (!best || !best.config) return null;
  return { ...best.config, of: best.id, byLeader: best === leader };
}

/** Whether a server knows a configuration at all (a new, empty server knows none). */
export const knowsConfig = (c) => Boolean(c && (c.voters.length || c.old_voters));

const setKey = (ids) => (ids ? [...ids].sort((a, b) => a - b).join(",") : "-");
/** A key that is the same for two configurations exactly when they are the same. */
export const configKey = (c) => (c ? `${setKey(c.old_voters)}|${setKey(c.voters)}|${setKey(c.learners || [])}` : "none");

/**
 * Where a server stands in ITS OWN configuration (the latest in its own log):
 * what it does (vote, count, run for election) depends on that one, not on the
 * leader's. A server that knows no configuration yet (new and empty) stands
 * where the ring's configuration puts it.
 */
export function ownStanding(node, ring) {
  return standing(knowsConfig(node.config) ? node.config : ring, node.id);
}

/**
 * The badges servers get in the ring: id -> what its own configuration is,
 * "uses {S1–S3}", "uses old,new", or "no config yet" for a server that knows
 * none. Where the ring's configuration is named above it (`all` false), only
 * the servers whose own configuration is another one get a badge; otherwise,
 * when servers know different configurations (the point of section 6), every
 * server gets one, so who counts which majority shows at a glance. `short`
 * leaves out "uses".
 */
export function configBadges(nodes, ring, { all = false, short = false } = {}) {
  const out = new Map();
  const known = new Map();                       // configuration key -> [ids]
  for (const n of nodes.values()) {
    if (!n.config) continue;
    if (!knowsConfig(n.config)) { out.set(n.id, short ? "no config" : "no config yet"); continue; }
    const key = configKey(n.config);
    if (!known.has(key)) known.set(key, []);
    known.get(key).push(n.id);
  }
  if (all ? known.size < 2 : !ring) return out;
  const list = (ids) => {
    const words = serverList(ids);
    return words.length <= 12 ? words : ids.length > 3 ? `${ids.length} voters` : words.replace(/ /g, "");
  };
  const base = (c) => `${short ? "" : "uses "}${c.old_voters ? "old,new" : `{${list(c.voters)}}`}`;
  const configs = [...known.values()].map((ids) => nodes.get(ids[0]).config);
  if (ring && !known.has(configKey(ring))) configs.push(ring);
  const texts = new Map();                       // base text -> how many configurations say it
  for (const c of configs) texts.set(base(c), (texts.get(base(c)) || 0) + 1);
  for (const [key, ids] of known) {
    if (!all && key === configKey(ring)) continue;
    const c = nodes.get(ids[0]).config;
    let t = base(c);
    // Two configurations with the same voters differ in their learners: say them as the logs do (+S4 L).
    const learners = c.learners || [];
    if (texts.get(t) > 1 && learners.length) t += ` ${learners.length === 1 ? `+S${learners[0]}` : `+${learners.length}`} L`;
    for (const id of ids) out.set(id, t);
  }
  return out;
}

/**
 * The configurations servers use other than the ring's, each with who uses it
 * (leaders first): [{config, ids, leaders}], the most recent first.
 */
export function otherConfigurations(nodes, ring) {
  const groups = new Map();
  for (const n of [...nodes.values()].sort((a, b) => a.id - b.id)) {
    if (!n.config || configKey(n.config) === configKey(ring)) continue;
    const key = knowsConfig(n.config) ? configKey(n.config) : "none";
    if (!groups.has(key)) groups.set(key, { config: n.config, ids: [], leaders: [], index: 0 });
    const g = groups.get(key);
    g.ids.push(n.id);
    if (n.up && n.role === "leader") g.leaders.push(n.id);
    g.index = Math.max(g.index, n.config_index ?? 0);
  }
  return [...groups.values()].sort((a, b) => b.leaders.length - a.leaders.length || b.index - a.index);
}

function compare(a, b) {
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return a[k] - b[k];
  return 0;
}

/**
 * Where a server stands in a configuration: "voter", "learner" or "outside";
 * during joint consensus a voter is "both", "old" (only in C_old) or "new"
 * (only in C_new).
 */
export function standing(config, id) {
  if (!config) return "voter";
  const inNew = config.voters.includes(id);
  if (config.old_voters) {
    const inOld = config.old_voters.includes(id);
    if (inOld && inNew) return "both";
    if (inOld) return "old";
    if (inNew) return "new";
  } else if (inNew) {
    return "voter";
  }
  return (config.learners || []).includes(id) ? "learner" : "outside";
}

export const isVoter = (s) => s === "voter" || s === "both" || s === "old" || s === "new";

/** Whether the configuration is worth a line on the ring: anything but "everyone votes". */
export function isPlain(config, ids) {
  return !config || (!config.old_voters && !(config.learners || []).length
    && ids.every((id) => config.voters.includes(id)));
}

/** A configuration in words, e.g. "C_old,new: old S1–S3, new S1–S5" or "voters S1–S3; learner S4". */
export function describe(config, { outside = [] } = {}) {
  if (!config) return "none";
  if (!config.voters.length && !config.old_voters) return "none yet (it has heard of no configuration)";
  const parts = config.old_voters
    ? [`C_old,new: old ${serverList(config.old_voters)}, new ${serverList(config.voters)}`]
    : [`voters ${serverList(config.voters)}`];
  const learners = config.learners || [];
  if (learners.length) parts.push(`learner${learners.length > 1 ? "s" : ""} ${serverList(learners)}`);
  if (outside.length) parts.push(`outside ${serverList(outside)}`);
  return parts.join("; ");
}

/**
 * The label a configuration entry shows in its log cell, told from the
 * configuration before it in the same log (or the cluster's initial one). One
 * short label at every width and in every mode, set as large as the commands:
 * "old,new" (C_old,new), "new" (the C_new after it), "+S4" / "−S3" (one voter
 * added or removed), "+S4 L" / "−S4 L" (a learner added or given up), "+2 L",
 * "+2", "−2" (several), "cfg" (anything else). Its tooltip and the inspector
 * say it in full (entryWords).
 */
export function entryLabel(config, previous) {
  if (config.old_voters) return "old,new";
  const before = previous || { voters: [], old_voters: null, learners: [] };
  if (before.old_voters) return "new";
  const added = config.voters.filter((i) => !before.voters.includes(i));
  const removed = before.voters.filter((i) => !config.voters.includes(i));
  const learners = config.learners || [], wereLearners = before.learners || [];
  const newLearners = learners.filter((i) => !wereLearners.includes(i));
  const goneLearners = wereLearners.filter((i) => !learners.includes(i) && !config.voters.includes(i));
  if (!added.length && !removed.length) {
    if (newLearners.length && !goneLearners.length) return newLearners.length === 1 ? `+S${newLearners[0]} L` : `+${newLearners.length} L`;
    if (goneLearners.length && !newLearners.length) return goneLearners.length === 1 ? `−S${goneLearners[0]} L` : `−${goneLearners.length} L`;
    return "cfg";
  }
  if (added.length && removed.length) return "cfg";
  if (added.length) return added.length === 1 ? `+S${added[0]}` : `+${added.length}`;
  return removed.length === 1 ? `−S${removed[0]}` : `−${removed.length}`;
}

/** The lecture's name for a configuration entry, for its tooltip: C_old,new, C_new, or none. */
export function entryName(config, previous) {
  if (config.old_voters) return "C_old,new";
  return previous?.old_voters ? "C_new" : "";
}

/** A configuration entry in words, for tooltips and the inspector. */
export function entryWords(config) {
  if (config.old_voters) {
    return `the joint configuration C_old,new (old ${serverList(config.old_voters)}, new ${serverList(config.voters)}): ` +
      "elections and commitment need a majority of each";
  }
  return `the configuration ${describe(config)}`;
}

/** What a log cell says for an entry: its command, or a configuration's or a no-op's label. */
export function entryText(entry, previousConfig) {
  if (entry.kind === "config" && entry.config) return entryLabel(entry.config, previousConfig);
  if (entry.kind === "noop" || entry.command === null || entry.command === undefined) return "no-op";
  return entry.command;
}
