export type Consume = "post" | "messages" | "memcpy";
