// A set whose members may be added more than once and stay until removed as often: for keys that several
// live objects can hold at once (a UDP port bound per family, a relayed address of a TURN allocation).
export class CountedSet<K> {
  private readonly counts = new Map<K, number>();

  add(key: K): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  /** Removes one holding of `key`; the key goes once no holding is left. */
  delete(key: K): void {
    const n = this.counts.get(key) ?? 0;
    if (n <= 1) this.counts.delete(key);
    else this.counts.set(key, n - 1);
  }

  has(key: K): boolean {
    return this.counts.has(key);
  }
}
