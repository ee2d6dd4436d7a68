// Runs async tasks one after another, in call order: a task starts when the previous one has
// settled, whether it resolved or rejected (a failure never blocks the ones behind it).

export class OneAtATime {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
