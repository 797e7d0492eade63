declare const self: Worker;
declare let items: unknown[];
