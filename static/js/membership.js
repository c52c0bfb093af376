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

/** The configuration the ring shows: {voters, old_voters, learners, of, byLeader}, or null. */
export function ringConfiguration(nodes) {
  let leader = null;
  for (const n of nodes.values()) {
    if (n.up && n.role === "leader" && (!leader || n.term > leader.term)) leader = n;
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

// Subscript digits keep a concrete configuration short: C₁₋₃,₁₋₅.
const SUB = { 0: "₀", 1: "₁", 2: "₂", 3: "₃", 4: "₄", 5: "₅", 6: "₆", 7: "₇", 8: "₈", 9: "₉", "–": "₋", ",": "‚" };
const sub = (ids) => [...serverList(ids).replace(/S/g, "").replace(/ /g, "")].map((c) => SUB[c] ?? c).join("");

/**
 * The text a configuration entry shows in its log cell, told from the
 * configuration before it in the same log (or the cluster's initial one):
 * its label, then shorter forms for narrow cells, longest first:
 * ["C_old,new", "old,new", "Cₒ,ₙ"], ["C_new", "Cₙ"], ["+S4 learner", "+S4 L"],
 * ["+S4"], ["−S3"], ["C₁₋₅"].
 */
export function entryLabels(config, previous) {
  if (config.old_voters) return ["C_old,new", "old,new", "Cₒ,ₙ"];
  const before = previous || { voters: [], old_voters: null, learners: [] };
  if (before.old_voters) return ["C_new", "Cₙ"];
  const added = config.voters.filter((i) => !before.voters.includes(i));
  const removed = before.voters.filter((i) => !config.voters.includes(i));
  const newLearners = (config.learners || []).filter((i) => !(before.learners || []).includes(i));
  if (!added.length && !removed.length && newLearners.length) {
    return newLearners.length === 1 ? [`+S${newLearners[0]} learner`, `+S${newLearners[0]} L`]
      : [`+${newLearners.length} learners`, `+${newLearners.length} L`];
  }
  if (added.length === 1 && !removed.length) return [`+S${added[0]}`];
  if (removed.length === 1 && !added.length) return [`−S${removed[0]}`];
  return [`C${sub(config.voters)}`];
}

/** A configuration entry in words, for tooltips and the inspector. */
export function entryWords(config) {
  if (config.old_voters) {
    return `the joint configuration C_old,new (old ${serverList(config.old_voters)}, new ${serverList(config.voters)}): ` +
      "elections and commitment need a majority of each";
  }
  return `the configuration ${describe(config)}`;
}

/** What a log cell says for an entry, longest form first: its command, or a
 * configuration's or a no-op's label and their shorter forms. */
export function entryTexts(entry, previousConfig) {
  if (entry.kind === "config" && entry.config) return entryLabels(entry.config, previousConfig);
  if (entry.kind === "noop" || entry.command === null || entry.command === undefined) return ["no-op"];
  return [entry.command];
}
