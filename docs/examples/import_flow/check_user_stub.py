def check_user(request: Request) -> Any:
    """Function node "Check user" (fn.check): needs a hand translation.

    Return the claims to sign, as the node set msg.payload (request.params holds the
    query, request.POST the form). The node's JavaScript::

        if (msg.payload.user !== "ada") {
            msg.statusCode = 401;
            return null;
        }
        msg.payload = { sub: msg.payload.user };
        return msg;
    """
    raise NotImplementedError('function node fn.check needs a hand translation: see flow_payloads.check_user')
