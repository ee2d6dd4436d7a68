// A FIFO on a growing ring buffer: push at the tail, shift and peek at the head, both O(1)
// (Array#shift moves the whole array once it is large, and the queues here hold thousands).

export class Ring<T> {
  private items: (T | undefined)[] = new Array<T | undefined>(16);
  private head = 0;
  length = 0;

  push(x: T): void {
    if (this.length === this.items.length) {
      const next = new Array<T | undefined>(this.items.length * 2);
      for (let i = 0; i < this.length; i++) next[i] = this.items[(this.head + i) % this.items.length];
      this.items = next;
      this.head = 0;
    }
    this.items[(this.head + this.length) % this.items.length] = x;
    this.length++;
  }

  /** The oldest item, or undefined when empty; it stays queued. */
  peek(): T | undefined {
    return this.length === 0 ? undefined : this.items[this.head];
  }

  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const x = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.items.length;
    this.length--;
    return x;
  }

  clear(): void {
    this.items = new Array<T | undefined>(16);
    this.head = 0;
    this.length = 0;
  }
}
