// The order in which an open loop's targets take their slices (hrtime-client.mjs, `schedule`).
//
// At 20 ms gaps a stream lasts about one slice, so each slice runs beside the tail of the previous slice's streams
// (that target's server still relaying them, the mock still sending them): in a fixed cyclic order a target would be
// measured beside the same neighbour in every slice of every round, and rotating where a round starts changes none
// of that. So the cycles follow a Williams design (E. J. Williams, "Experimental designs balanced for the estimation
// of residual effects of treatments", Australian Journal of Scientific Research A 2, 1949): each cycle a permutation
// of the targets, and over a design's rows each target comes right after every other one equally often.

/** The rows of a Williams design for `count` targets: `count` rows when it is even, twice as many when it is odd. */
function williamsRows(count) {
  // 0, 1, n−1, 2, n−2, …: the steps between neighbours are all different mod n, so shifting the row by 0…n−1 gives
  // every ordered pair once (for an odd n the mirrored rows are needed as well).
  const first = [0];
  for (let low = 1, high = count - 1; first.length < count;) {
    first.push(low++);
    if (first.length < count) first.push(high--);
  }
  const rows = Array.from({ length: count }, (_, shift) => first.map((target) => (target + shift) % count));
  return count % 2 === 0 ? rows : [...rows, ...rows.map((row) => [...row].reverse())];
}

/**
 * Target indexes, one per slice, for `cycles` cycles of `count` targets in round `round`: each cycle a row of the
 * design, round `round` starting at its row `round` (so target `round` first: the rounds' orders rotated). A row
 * that would start with the target the last one ended with is turned by one, so that no slice runs on into the next.
 */
export function sliceOrder(count, round, cycles) {
  const rows = williamsRows(count);
  const order = [];
  for (let cycle = 0; cycle < cycles; cycle++) {
    const row = rows[(round + cycle) % rows.length];
    order.push(...(row[0] === order.at(-1) ? [...row.slice(1), row[0]] : row));
  }
  return order;
}

/**
 * Target indexes, one per slice, for `cycles` cycles in one cyclic order, round `round` starting at target `round`:
 * for slices whose requests end with them (index.mjs, the latency phase), where each target's slices stay
 * `count − 1` slices apart.
 */
export function cyclicOrder(count, round, cycles) {
  return Array.from({ length: count * cycles }, (_, slice) => (slice + round) % count);
}
