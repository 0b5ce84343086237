import net from "node:net";
import http2 from "node:http2";
const h2 = http2.createServer((req, res) => { res.end("ok " + req.url); });
const srv = net.createServer((socket) => {
  let head = Buffer.alloc(0);
  const onData = (chunk) => {
    head = Buffer.concat([head, chunk]);
    if (head.length < 24) return;
    socket.off("data", onData);
    socket.pause();
    socket.unshift(head);
    h2.emit("connection", socket);
  };
  socket.on("data", onData);
});
srv.listen(28095, "127.0.0.1", () => console.log("up"));
